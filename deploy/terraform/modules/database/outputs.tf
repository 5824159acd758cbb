output "endpoint" {
  description = "host:port of the database."
  value       = aws_db_instance.this.endpoint
}

output "security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.this.id
}

output "database_url_secret_arn" {
  description = "Secrets Manager secret holding SALON_DATABASE_URL."
  value       = aws_secretsmanager_secret.database_url.arn
}

output "instance_id" {
  description = "RDS instance identifier."
  value       = aws_db_instance.this.identifier
}
