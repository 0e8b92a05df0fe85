# The quick start in HCL: runner tasks are local processes of the controller.
runner_profile "local-default" {
  plugin        = "local"
  default       = true
  labels        = { tier = "quickstart" }
  environment   = { GREETING = "hello from runway" }
  start_timeout = "30s"
}

/* A second local profile that runs at most two tasks at once. */
runner_profile "local-pair" {
  plugin         = "local"
  max_concurrent = 2
  start_timeout  = "30s"
}
