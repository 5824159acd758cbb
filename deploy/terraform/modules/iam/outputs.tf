output "execution_role_arn" {
  description = "ECS task execution role (image pull, logs, secrets)."
  value       = aws_iam_role.execution.arn
}

output "web_task_role_arn" {
  description = "Task role of the web service."
  value       = aws_iam_role.task["web"].arn
}

output "worker_task_role_arn" {
  description = "Task role of the worker service."
  value       = aws_iam_role.task["worker"].arn
}

output "ops_task_role_arn" {
  description = "Task role of one-off commands (the migrate task definition, deploy/tools/run-task.sh)."
  value       = aws_iam_role.task["ops"].arn
}

output "task_role_names" {
  description = "Task role names by service."
  value       = { for k, r in aws_iam_role.task : k => r.name }
}
