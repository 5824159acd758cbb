output "secret_arn" {
  description = "ARN of the secret (for ECS `secrets` valueFrom)."
  value       = aws_secretsmanager_secret.this.arn
}
