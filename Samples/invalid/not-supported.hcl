job "hcl-job" {
  command = ["echo", "hi"]
}
