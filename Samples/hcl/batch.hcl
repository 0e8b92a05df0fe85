# Four jobs on the local-pair profile: never more than two run at once.
job "batch-1" {
  profile = "local-pair"
  command = ["sh", "-c", "sleep 1; echo batch 1 done"]
  timeout = "1m"
}

job "batch-2" {
  profile = "local-pair"
  command = ["sh", "-c", "sleep 1; echo batch 2 done"]
  timeout = "1m"
}

job "batch-3" {
  profile = "local-pair"
  command = ["sh", "-c", "sleep 1; echo batch 3 done"]
  timeout = "1m"
}

job "batch-4" {
  profile = "local-pair"
  command = ["sh", "-c", "sleep 1; echo batch 4 done"]
  timeout = "1m"
}
