# A heredoc whose closing marker never comes.
job "script" {
  command = ["sh", "-c", <<-EOT
    echo one
    echo two
  EOF
}
