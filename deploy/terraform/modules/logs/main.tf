# CloudWatch log groups for the containers, created here (not by the awslogs driver) so that
# retention and encryption are set and `terraform destroy` removes them.
resource "aws_cloudwatch_log_group" "this" {
  for_each = var.streams

  #checkov:skip=CKV_AWS_338:Application logs are kept 30 days by default for cost; retention_in_days raises it where compliance asks for a year.
  name              = "/salon/${var.name}/${each.key}"
  retention_in_days = var.retention_in_days
  kms_key_id        = var.kms_key_arn
  tags              = merge(var.tags, { "salon:module" = "logs" })
}
