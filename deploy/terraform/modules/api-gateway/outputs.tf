output "api_id" {
  description = "ID of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "api_endpoint" {
  description = "Default endpoint of the API (disabled: use the custom domain)."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "vpc_link_id" {
  description = "ID of the VPC link."
  value       = aws_apigatewayv2_vpc_link.this.id
}

output "authorizer_id" {
  description = "ID of the Cognito JWT authorizer."
  value       = aws_apigatewayv2_authorizer.cognito.id
}

output "jwt_protected_routes" {
  description = "Routes whose requests need a Cognito JWT in the Authorization header at the edge."
  value       = sort(keys(aws_apigatewayv2_route.protected))
}
