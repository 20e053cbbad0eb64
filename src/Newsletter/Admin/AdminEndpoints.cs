using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using System.Net.Http.Headers;
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
    public const string Policy = "Admin";

    public static WebApplicationBuilder AddAdmin(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<AdminOptions>(AdminOptions.Section);
        // Not the default scheme: only the admin endpoints ask for it.
        builder.Services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, AdminAuthenticationHandler>(AdminAuthenticationHandler.SchemeName, _ => { });
        builder.Services.AddAuthorizationBuilder().AddPolicy(Policy, policy => policy.AddAuthenticationSchemes(AdminAuthenticationHandler.SchemeName).RequireAuthenticatedUser());
        return builder;
    }

    public static WebApplication MapAdmin(this WebApplication app)
    {
        app.MapGroup("/admin").RequireAuthorization(Policy).MapGet("/preview", PreviewAsync);
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
}

/// <summary>
/// The admin credential as an ASP.NET Core authentication scheme: HTTP Basic (any user name, the
/// password is <c>Admin:Password</c>) or an <c>X-Api-Key</c> header, compared in constant time.
/// While the admin pages are off (no password), or for another machine unless
/// <c>Admin:AllowRemote</c>, the challenge answers 404: the pages do not exist for them.
/// </summary>
internal sealed class AdminAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions, ILoggerFactory logger, UrlEncoder encoder, IOptions<AdminOptions> admin)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logger, encoder)
{
    public const string SchemeName = "Admin";

    private bool Available => !string.IsNullOrEmpty(admin.Value.Password)
        && (admin.Value.AllowRemote || Context.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address));

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Available)
            return Task.FromResult(AuthenticateResult.NoResult());
        var presented = PresentedSecret();
        if (presented is null)
            return Task.FromResult(AuthenticateResult.NoResult());
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(admin.Value.Password!)))
            return Task.FromResult(AuthenticateResult.Fail("wrong admin credential"));
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "admin")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (!Available)
        {
            Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Basic realm=\"Newsletter admin\", charset=\"UTF-8\"";
        return Task.CompletedTask;
    }

    /// <summary>The X-Api-Key header, or the password part of Basic credentials; null when neither is there.</summary>
    private string? PresentedSecret()
    {
        if (Request.Headers["X-Api-Key"].ToString() is { Length: > 0 } key)
            return key;
        if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header)
            || !header.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) || header.Parameter is null)
            return null;
        var decoded = new byte[header.Parameter.Length];
        if (!Convert.TryFromBase64String(header.Parameter, decoded, out var length))
            return "";
        var credentials = Encoding.UTF8.GetString(decoded, 0, length);
        var colon = credentials.IndexOf(':');
        return colon < 0 ? "" : credentials[(colon + 1)..];
    }
}
