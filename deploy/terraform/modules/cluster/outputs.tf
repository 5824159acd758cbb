output "cluster_name" {
  description = "Name of the ECS cluster, available once its capacity providers are associated."
  value       = aws_ecs_cluster_capacity_providers.this.cluster_name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster, available once FARGATE_SPOT is associated with it (a Spot service created earlier fails on the first apply)."
  value       = aws_ecs_cluster.this.arn
  depends_on  = [aws_ecs_cluster_capacity_providers.this]
}
