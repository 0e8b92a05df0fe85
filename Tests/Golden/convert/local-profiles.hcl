runner_profile "local-default" {
  plugin        = "local"
  default       = true
  labels        = { tier = "quickstart" }
  environment   = { GREETING = "hello from runway" }
  start_timeout = "30s"
}

runner_profile "local-pair" {
  plugin         = "local"
  max_concurrent = 2
  start_timeout  = "30s"
}
