using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Orchestration;
using Newsletter.Rendering;

using Newsletter.Subscriptions;

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
        builder.Services.AddSingleton<AdminLockout>();
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
        var (issue, note) = await previews.IssueForAsync(email, null, cancellationToken);
        http.Response.Headers.CacheControl = "no-store";
        if (issue is null)
            return TypedResults.Content(note, "text/plain; charset=utf-8");
        var digest = renderer.Render(issue, recipient);
        // Shown in the operator's browser: no scripts, whatever a template or feed contains.
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:";
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
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions, ILoggerFactory logger, UrlEncoder encoder, IOptions<AdminOptions> admin, AdminLockout lockout)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logger, encoder)
{
    public const string SchemeName = "Admin";

    private const string LockedOutKey = "admin-locked-out";

    private bool Available => !string.IsNullOrEmpty(admin.Value.Password)
        && (admin.Value.AllowRemote || Context.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address));

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Available)
            return AuthenticateResult.NoResult();
        var presented = PresentedSecret();
        if (presented is null)
            return AuthenticateResult.NoResult();
        // Guessing: every attempt is counted (in the database, so on every instance) before it is
        // checked, and refused unchecked while this client is locked out (answered 429 by the challenge).
        var client = ClientNetwork.Of(Context);
        var attempt = await lockout.BeginAsync(client, Context.RequestAborted);
        if (attempt.Locked is { } wait)
        {
            Context.Items[LockedOutKey] = wait;
            return AuthenticateResult.Fail("locked out after repeated wrong admin credentials");
        }
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(admin.Value.Password!)))
        {
            lockout.Failed(client, attempt.Number);
            return AuthenticateResult.Fail("wrong admin credential");
        }
        await lockout.SucceededAsync(client, Context.RequestAborted);
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "admin")], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (!Available)
        {
            Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        if (Context.Items[LockedOutKey] is TimeSpan wait)
        {
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
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

/// <summary>
/// Guessing the admin password: the <see cref="FreeFailures"/>th failure in a row from one client
/// network locks it out for a minute, each further one for twice as long, up to 15 minutes; while
/// locked, attempts are refused unchecked. Kept in the database (<see cref="RateLimitStore"/>), so a
/// lock taken on one instance holds on all of them and K instances do not give a guesser K times the
/// tries. Each failure is logged, so an operator (or fail2ban) sees the attack.
/// </summary>
public sealed class AdminLockout(Storage.RateLimitStore store, ILogger<AdminLockout> logger)
{
    public const int FreeFailures = 5;
    private static readonly TimeSpan FirstLock = TimeSpan.FromMinutes(1), MaxLock = TimeSpan.FromMinutes(15);

    /// <summary>An attempt's number in the current run of failures, or the time the client must still wait.</summary>
    public readonly record struct Attempt(long Number, TimeSpan? Locked);

    /// <summary>How long a client is locked after its <paramref name="failures"/>th failure in a row, were this attempt to fail.</summary>
    public static TimeSpan LockAfter(long failures) => failures < FreeFailures ? TimeSpan.Zero
        : TimeSpan.FromTicks(Math.Min(MaxLock.Ticks, FirstLock.Ticks << (int)Math.Min(failures - FreeFailures, 10)));

    private static string Key(string client) => "admin-lockout:" + client;

    /// <summary>Counts the attempt as a failure until it is known to be right; refuses it while the client is locked.</summary>
    public async Task<Attempt> BeginAsync(string client, CancellationToken cancellationToken)
    {
        var (number, locked) = await store.CountAttemptAsync(Key(client), LockAfter, cancellationToken);
        return number == 0 ? new Attempt(0, locked) : new Attempt(number, null);
    }

    public void Failed(string client, long failures)
    {
        var locked = LockAfter(failures);
        logger.LogWarning("Admin authentication failed from {Client} ({Failures} in a row{Lock})", client, failures,
            locked > TimeSpan.Zero ? $"; locked for {locked.TotalSeconds:0} s" : "");
    }

    public Task SucceededAsync(string client, CancellationToken cancellationToken) => store.ForgetAsync(Key(client), cancellationToken);
}
