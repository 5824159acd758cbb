output "service_name" {
  description = "Name of the web ECS service."
  value       = aws_ecs_service.web.name
}

output "task_definition_family" {
  description = "Task definition family of the web service (CI registers new revisions of it)."
  value       = aws_ecs_task_definition.web.family
}

output "migrate_task_definition_arn" {
  description = "Task definition that runs `salon db upgrade` once."
  value       = aws_ecs_task_definition.migrate.arn
}

output "migrate_task_definition_family" {
  description = "Family of the migration task definition."
  value       = aws_ecs_task_definition.migrate.family
}

output "task_security_group_id" {
  description = "Security group of the web tasks (and the migration task)."
  value       = aws_security_group.task.id
}

output "load_balancer_arn" {
  description = "ARN of the load balancer (e.g. to attach a WAF web ACL)."
  value       = aws_lb.this.arn
}

output "load_balancer_dns_name" {
  description = "DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "load_balancer_security_group_id" {
  description = "Security group of the load balancer."
  value       = aws_security_group.lb.id
}

output "https_listener_arn" {
  description = "ARN of the HTTPS listener (the API Gateway VPC link integration targets it)."
  value       = aws_lb_listener.https.arn
}

output "certificate_arn" {
  description = "ACM certificate of domain_name, validated."
  value       = local.certificate_arn
}

output "migrate_task_role_arn" {
  description = "Task role the migrate task definition (and deploy/tools/run-task.sh) runs under."
  value       = aws_ecs_task_definition.migrate.task_role_arn
}

output "load_balancer_arn_suffix" {
  description = "The load balancer's ARN suffix, the LoadBalancer dimension of its CloudWatch metrics."
  value       = aws_lb.this.arn_suffix
}

output "target_group_arn_suffix" {
  description = "The target group's ARN suffix, the TargetGroup dimension of its CloudWatch metrics."
  value       = aws_lb_target_group.this.arn_suffix
}
