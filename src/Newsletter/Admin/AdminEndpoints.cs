using System.Net.Http.Headers;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Issues;
using Newsletter.Orchestration;
using Newsletter.Rendering;

namespace Newsletter.Admin;

public sealed class AdminOptions
{
    public const string Section = "Newsletter:Admin";

    /// <summary>Credential of the admin pages (HTTP Basic with any user name, or an <c>X-Api-Key</c> header). Empty: admin pages are off.</summary>
    public string? Password { get; set; }

    /// <summary>By default the admin pages answer only requests from this machine.</summary>
    public bool AllowRemote { get; set; }
}

/// <summary><c>GET /admin/preview[?email=]</c>: the current digest as that subscriber would get it.</summary>
public static class AdminEndpoints
{
    public static WebApplicationBuilder AddAdmin(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AdminOptions>().BindConfiguration(AdminOptions.Section);
        return builder;
    }

    public static WebApplication MapAdmin(this WebApplication app)
    {
        app.MapGroup("/admin").AddEndpointFilter(RequireAdmin).MapGet("/preview", PreviewAsync);
        return app;
    }

    private static async Task<IResult> PreviewAsync(string? email, DigestPreviews previews, DigestRenderer renderer, HttpContext http, CancellationToken cancellationToken)
    {
        var recipient = await previews.RecipientAsync(email, cancellationToken);
        if (recipient is null)
            return TypedResults.Problem($"'{email}' is not a valid email address.", statusCode: StatusCodes.Status400BadRequest);
        var issue = await previews.CurrentIssueAsync(cancellationToken);
        var digest = renderer.Render(issue, recipient);
        // Shown in the operator's browser: no scripts, whatever a template or feed contains.
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:";
        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Content(digest.Html, "text/html; charset=utf-8");
    }

    private static async ValueTask<object?> RequireAdmin(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var options = http.RequestServices.GetRequiredService<IOptions<AdminOptions>>().Value;
        // Off unless configured, and invisible from other machines unless allowed.
        if (string.IsNullOrEmpty(options.Password) || (!options.AllowRemote && !IsLoopback(http.Connection.RemoteIpAddress)))
            return TypedResults.NotFound();
        if (!Authorized(http.Request, options.Password))
        {
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"Newsletter admin\", charset=\"UTF-8\"";
            return TypedResults.Unauthorized();
        }
        return await next(context);
    }

    private static bool IsLoopback(IPAddress? address) => address is not null && IPAddress.IsLoopback(address);

    private static bool Authorized(HttpRequest request, string password)
    {
        var expected = Encoding.UTF8.GetBytes(password);
        if (request.Headers["X-Api-Key"].ToString() is { Length: > 0 } key)
            return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key), expected);
        if (!AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var header)
            || !header.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) || header.Parameter is null)
            return false;
        try
        {
            var credentials = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
            var colon = credentials.IndexOf(':');
            return colon >= 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(credentials[(colon + 1)..]), expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
