output "service_name" {
  description = "Name of the worker ECS service."
  value       = aws_ecs_service.this.name
}

output "task_definition_family" {
  description = "Task definition family of the worker (CI registers new revisions of it)."
  value       = aws_ecs_task_definition.this.family
}

output "task_security_group_id" {
  description = "Security group of the worker tasks."
  value       = aws_security_group.task.id
}

output "autoscaling_resource_id" {
  description = "Application Auto Scaling resource ID of the worker service."
  value       = aws_appautoscaling_target.this.resource_id
}
