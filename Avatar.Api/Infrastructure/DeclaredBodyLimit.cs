using Microsoft.AspNetCore.Mvc;

namespace Avatar.Api.Infrastructure;

/// <summary>
/// Refuses a request that declares a body over <see cref="ApiServices.MaxRequestBodyBytes"/> with 413 before anything
/// else runs, and closes its connection. Kestrel refuses such a body only when an endpoint reads it: one that does not (an
/// unknown path, a missing key) answered, then dropped the kept-alive connection while draining the body, without
/// saying so, and the client's next request on that connection failed with no answer.
/// </summary>
public static class DeclaredBodyLimit
{
    /// <summary>Adds the check; put it first.</summary>
    public static IApplicationBuilder UseDeclaredBodyLimit(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.ContentLength is not > ApiServices.MaxRequestBodyBytes)
        {
            await next(context);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        context.Response.Headers.Connection = "close";
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status413PayloadTooLarge,
                Title = "The request body is too large.",
                Detail = $"Request bodies are limited to {ApiServices.MaxRequestBodyBytes} bytes.",
            },
        });
    });
}
