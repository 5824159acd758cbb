# One application secret (e.g. SALON_SECRET_KEY) in Secrets Manager. The value arrives as an
# ephemeral value and is written write-only: it never appears in a plan or in the Terraform
# state. ECS injects it through the task's `secrets`.

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:Rotated by bumping value_version; automatic rotation would invalidate signed share links and sessions without notice.
  name                    = var.name
  description             = var.description
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
  tags                    = merge(var.tags, { "salon:module" = "app-secret" })
}

resource "aws_secretsmanager_secret_version" "this" {
  secret_id                = aws_secretsmanager_secret.this.id
  secret_string_wo         = var.value
  secret_string_wo_version = var.value_version
}
