job "x" {
  command = <<EOT
no end
