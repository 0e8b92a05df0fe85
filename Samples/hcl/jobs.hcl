// Prints a line and succeeds.
job "hello" {
  command = ["echo", "hello, runway"]
  timeout = "1m"
}

# Uses its own environment and the profile's (GREETING).
job "environment" {
  command           = ["sh", "-c", "echo \"$GREETING; building $TARGET in $(pwd)\""]
  working_directory = "/tmp"
  environment       = { TARGET = "release" }
  timeout           = "1m"
}

# Fails on its first attempt and succeeds on its retry (the runner sets RUNWAY_ATTEMPT).
job "flaky" {
  command = ["sh", "-c", "echo \"attempt $RUNWAY_ATTEMPT\"; test \"$RUNWAY_ATTEMPT\" -ge 2"]
  retries = 2
  timeout = "1m"
}
