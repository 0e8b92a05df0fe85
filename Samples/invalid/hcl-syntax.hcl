# HCL syntax errors: each is reported, and parsing goes on after each one. A block with a
# syntax error is not decoded further (no second error about what it then lacks).
runner_profile "fine" {
  plugin  = "local"
  default = true
}

job "missing-equals" {
  command ["echo", "hi"]
  timeout = 30s
  retries = 2
}

job "bad-strings" {
  command = ["echo", "unterminated]
  working_directory = "C:\data"
  environment = { GREETING = "hi" "oops" = 1 }
}

jbo "typo" {
  command = ["true"]
}

job {
  command = ["true"]
}

profile = "local"
