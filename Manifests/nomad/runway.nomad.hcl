# The controller as a Nomad service job. Its runner tasks are Nomad batch jobs it registers.
job "runway-controller" {
  type        = "service"
  datacenters = ["dc1"]

  group "controller" {
    count = 1

    network {
      port "api" { static = 8080 }
    }

    service {
      name     = "runway-controller"
      port     = "api"
      provider = "nomad"

      check {
        type     = "http"
        path     = "/readyz"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "controller" {
      driver = "docker"

      config {
        image = "ghcr.io/acme/runway:latest"
        args  = ["controller"]
        ports = ["api"]
      }

      env {
        RUNWAY_MANIFESTS     = "/local/manifests"
        RUNWAY_STATE_DIR     = "/alloc/data/runway"
        RUNWAY_LISTEN        = "0.0.0.0:8080"
        RUNWAY_ADVERTISE_URL = "http://${NOMAD_ADDR_api}"
        RUNWAY_IMAGE         = "ghcr.io/acme/runway:latest"
        RUNWAY_PLUGINS       = "nomad"
      }

      kill_timeout = "30s"

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
