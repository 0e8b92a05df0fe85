# The controller as a Nomad service job. Its runner tasks are Nomad batch jobs it registers.
#
# Before running it:
# - State: the embedded SQLite store and the logs live on the client's host volume
#   "runway-state", so a restart or a reschedule to the same client keeps every job's history
#   (declare it in the client's configuration: host_volume "runway-state" { path = "/opt/runway" }).
#   For a controller that may move between clients, use PostgreSQL instead (RUNWAY_STORE, with the
#   password from a Variable as below) and drop the volume.
# - The operator's API token: a Nomad Variable this job reads through its workload identity:
#     nomad var put nomad/jobs/runway-controller api_token="$(openssl rand -hex 32)"
#   The controller refuses to start on a reachable address without it.
job "runway-controller" {
  type        = "service"
  datacenters = ["dc1"]

  group "controller" {
    count = 1

    network {
      port "api" { static = 8080 }
    }

    volume "state" {
      type      = "host"
      source    = "runway-state"
      read_only = false
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

      volume_mount {
        volume      = "state"
        destination = "/state"
      }

      template {
        data        = "{{ with nomadVar \"nomad/jobs/runway-controller\" }}{{ .api_token }}{{ end }}"
        destination = "secrets/api-token"
        perms       = "0400"
      }

      env {
        RUNWAY_MANIFESTS      = "/local/manifests"
        RUNWAY_STATE_DIR      = "/state"
        RUNWAY_LISTEN         = "0.0.0.0:8080"
        RUNWAY_ADVERTISE_URL  = "http://${NOMAD_ADDR_api}"
        RUNWAY_IMAGE          = "ghcr.io/acme/runway:latest"
        RUNWAY_PLUGINS        = "nomad"
        RUNWAY_API_TOKEN_FILE = "${NOMAD_SECRETS_DIR}/api-token"
      }

      kill_timeout = "30s"

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
