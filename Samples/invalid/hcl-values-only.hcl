# Manifests hold values: no interpolation, no references, no functions but env() in secrets.
runner_profile "templated" {
  plugin = "local"
  image  = "runner:${var.version}"
}

runner_profile "referenced" {
  plugin      = "local"
  environment = { HOME_DIR = path.module }
}

runner_profile "called" {
  plugin             = "local"
  secret_environment = { KEY = file("/etc/key") }
}

runner_profile "env-in-the-open" {
  plugin      = "local"
  environment = { TOKEN = env("TOKEN") }
  secret_environment = {
    API_KEY = env("RUNWAY_SECRET_API_KEY")
  }
}

runner_profile "twice" {
  plugin         = "local"
  max_concurrent = 2
  maxConcurrent  = 3
  labels         = { team = "a", team = "b" }
}
