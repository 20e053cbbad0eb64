using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Issues;
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
        builder.Services.AddSingleton<AdminLockout>();
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
        var lockout = http.RequestServices.GetRequiredService<AdminLockout>();
        var client = Subscriptions.ClientNetwork.Of(http);
        if (lockout.LockedFor(client) is { } wait)
        {
            http.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return TypedResults.StatusCode(StatusCodes.Status429TooManyRequests);
        }
        if (!Authorized(http.Request, options.Password))
        {
            lockout.Failed(client);
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"Newsletter admin\", charset=\"UTF-8\"";
            return TypedResults.Unauthorized();
        }
        lockout.Succeeded(client);
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

/// <summary>
/// Guessing the admin password: after <see cref="FreeFailures"/> failures from one client network
/// every further attempt waits, doubling from one second up to 15 minutes, and is refused unchecked
/// meanwhile. Each failure is logged, so an operator (or fail2ban) sees the attack.
/// </summary>
public sealed class AdminLockout(TimeProvider time, ILogger<AdminLockout> logger)
{
    public const int FreeFailures = 5;
    private static readonly TimeSpan MaxLock = TimeSpan.FromMinutes(15);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (int Failures, DateTimeOffset Until)> _clients = new();

    /// <summary>How long this client must still wait, or null.</summary>
    public TimeSpan? LockedFor(string client) =>
        _clients.TryGetValue(client, out var state) && state.Until > time.GetUtcNow() ? state.Until - time.GetUtcNow() : null;

    public void Failed(string client)
    {
        var now = time.GetUtcNow();
        var state = _clients.AddOrUpdate(client, _ => (1, now), (_, old) =>
        {
            var failures = old.Failures + 1;
            var wait = failures <= FreeFailures ? TimeSpan.Zero
                : TimeSpan.FromTicks(Math.Min(MaxLock.Ticks, TimeSpan.FromSeconds(1).Ticks << Math.Min(failures - FreeFailures - 1, 20)));
            return (failures, now + wait);
        });
        logger.LogWarning("Admin authentication failed from {Client} ({Failures} in a row{Lock})", client, state.Failures,
            state.Until > now ? $"; locked for {(state.Until - now).TotalSeconds:0} s" : "");
        // Bounded memory under a spray of addresses: forget the oldest quiet clients.
        if (_clients.Count > 10_000)
            foreach (var quiet in _clients.Where(c => c.Value.Until < now - MaxLock).Select(c => c.Key).ToList())
                _clients.TryRemove(quiet, out _);
    }

    public void Succeeded(string client) => _clients.TryRemove(client, out _);
}
