output "url" {
  description = "Where the gallery answers."
  value       = local.public_url
}

output "ecr_repository_url" {
  description = "Push the image here: <url>:<tag>."
  value       = module.ecr.repository_url
}

output "cluster_name" {
  description = "ECS cluster of both services."
  value       = module.cluster.cluster_name
}

output "web_service_name" {
  description = "ECS service running `salon serve`."
  value       = module.web.service_name
}

output "worker_service_name" {
  description = "ECS service running `salon worker`."
  value       = module.worker.service_name
}

output "web_task_definition_family" {
  description = "Task definition family of the web service."
  value       = module.web.task_definition_family
}

output "worker_task_definition_family" {
  description = "Task definition family of the worker service."
  value       = module.worker.task_definition_family
}

output "migrate_task_definition_family" {
  description = "Task definition family of the one-off `salon db upgrade` task."
  value       = module.web.migrate_task_definition_family
}

output "migrate_run_task_network" {
  description = "The --network-configuration value for `aws ecs run-task` of the migration."
  value = jsonencode({
    awsvpcConfiguration = {
      subnets        = module.network.workload_subnet_ids
      securityGroups = [module.web.task_security_group_id]
      assignPublicIp = "DISABLED"
    }
  })
}

output "media_bucket" {
  description = "Media bucket (SALON_S3_BUCKET)."
  value       = module.storage.bucket_name
}

output "queue_url" {
  description = "Job queue (SALON_SQS_QUEUE_URL)."
  value       = module.queue.queue_url
}

output "long_queue_url" {
  description = "Long jobs' queue (SALON_SQS_LONG_QUEUE_URL)."
  value       = module.queue.long_queue_url
}

output "dlq_url" {
  description = "Dead-letter queue: inspect and redrive failed jobs."
  value       = module.queue.dlq_url
}

output "cognito_user_pool_id" {
  description = "Cognito user pool (SALON_COGNITO_USER_POOL_ID)."
  value       = module.auth.user_pool_id
}

output "cognito_client_id" {
  description = "Cognito app client (SALON_COGNITO_CLIENT_ID)."
  value       = module.auth.client_id
}

output "database_endpoint" {
  description = "host:port of RDS PostgreSQL."
  value       = module.database.endpoint
}

output "container_environment_names" {
  description = "Names of the plain environment variables the containers receive (tests compare them with Salon's settings)."
  value       = sort(keys(local.app_environment))
}

output "container_secret_names" {
  description = "Names of the variables injected from Secrets Manager."
  value       = sort(keys(local.app_secrets))
}

output "api_gateway_id" {
  description = "HTTP API ID when entry_point = \"api_gateway\", else null."
  value       = try(module.api_gateway[0].api_id, null)
}

output "cloudfront_domain_name" {
  description = "CloudFront domain serving renditions, when enabled."
  value       = module.storage.cloudfront_domain_name
}
