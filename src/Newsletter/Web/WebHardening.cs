using System.Data.Common;
using System.Net;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Storage;

namespace Newsletter.Web;

public sealed class WebOptions
{
    public const string Section = "Newsletter:Web";

    /// <summary>
    /// Reverse proxies whose <c>X-Forwarded-For</c>/<c>-Proto</c> are believed, as addresses or
    /// CIDR networks (<c>10.0.0.0/8</c>). Empty: only a proxy on this machine (loopback).
    /// </summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>The largest request body accepted; larger ones get 413. Forms here are tiny.</summary>
    public long MaxRequestBodySize { get; set; } = 32 * 1024;
}

internal sealed class WebOptionsValidator : IValidateOptions<WebOptions>
{
    public ValidateOptionsResult Validate(string? name, WebOptions options)
    {
        var check = new ValidationFailures(WebOptions.Section);
        foreach (var proxy in options.KnownProxies)
            check.Require(WebHardening.TryParseProxy(proxy, out _, out _), "KnownProxies", $"must be IP addresses or CIDR networks; got '{proxy}'.");
        check.Require(options.MaxRequestBodySize is >= 1024 and <= 10 * 1024 * 1024, "MaxRequestBodySize", $"must be between 1024 and 10485760 bytes; got {options.MaxRequestBodySize}.");
        return check.Result();
    }
}

/// <summary>
/// What every request gets, whatever feature answers it: the client's real address behind a
/// known proxy, size limits that answer 400/413, storage faults that answer 503 with a sentence
/// (never 500 and a stack trace), and security headers on every response.
/// </summary>
public static class WebHardening
{
    public static WebApplicationBuilder AddWebHardening(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<WebOptions, WebOptionsValidator>(WebOptions.Section);
        // Through the options pattern, so configuration added after this call (tests, overrides) counts.
        builder.Services.AddOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>().Configure<IOptions<WebOptions>>(
            (kestrel, web) => kestrel.Limits.MaxRequestBodySize = web.Value.MaxRequestBodySize);
        builder.Services.AddOptions<FormOptions>().Configure<IOptions<WebOptions>>((form, web) =>
        {
            // The body limit bounds everything; within it a form reaches the same checks as JSON, so a
            // long list (one text field) or many ticked boxes are refused naming the field, as the JSON
            // endpoints refuse them, not with the form reader's generic "too large".
            form.ValueCountLimit = 1024;
            form.KeyLengthLimit = 256;
            form.ValueLengthLimit = (int)web.Value.MaxRequestBodySize;
            form.MultipartBodyLengthLimit = web.Value.MaxRequestBodySize;
        });
        builder.Services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<WebOptions>>((forwarded, web) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            forwarded.ForwardLimit = 1;
            if (web.Value.KnownProxies.Count > 0)
            {
                forwarded.KnownProxies.Clear();
                forwarded.KnownIPNetworks.Clear();
                foreach (var proxy in web.Value.KnownProxies)
                {
                    if (!TryParseProxy(proxy, out var address, out var network))
                        continue; // reported by the validator
                    if (network is { } range)
                        forwarded.KnownIPNetworks.Add(range);
                    else
                        forwarded.KnownProxies.Add(address!);
                }
            }
        });
        // The antiforgery cookie is Secure whenever the page is served over https, which behind a
        // TLS-terminating proxy is what its X-Forwarded-Proto says (hence KnownProxies). "Always"
        // would make antiforgery throw on every form page behind a proxy that does not say so.
        builder.Services.Configure<AntiforgeryOptions>(antiforgery =>
        {
            antiforgery.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
        });
        return builder;
    }

    /// <summary>Runs before every endpoint (call first in the pipeline).</summary>
    public static WebApplication UseWebHardening(this WebApplication app)
    {
        app.UseForwardedHeaders();
        app.Use(async (http, next) =>
        {
            SecurityHeaders(http);
            try
            {
                await next(http);
            }
            catch (Exception exception) when (!http.Response.HasStarted && Refusal(exception, http) is { } refusal)
            {
                http.Response.Clear();
                SecurityHeaders(http);
                http.Response.StatusCode = refusal.Status;
                http.Response.ContentType = "text/plain; charset=utf-8";
                await http.Response.WriteAsync(refusal.Sentence + "\n");
            }
        });
        // Explicitly after the above: left to the host, authentication and authorization would run
        // first, and their answers (the admin pages' 401/404/429) would miss the headers and limits.
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>
    /// What pages may load: scripts only from this site (files served with their JavaScript type,
    /// nosniff on everything else), inline styles, images from here, https and data: (the favicon),
    /// forms posting only here.
    /// </summary>
    internal const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private static void SecurityHeaders(HttpContext http)
    {
        var headers = http.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        // Pages are server-rendered forms with an inline <style>; the one script (the subscribe page's
        // time-zone guess) is a file from this site, never inline, and nothing frames them.
        // (The admin preview sets its own, stricter policy for a digest's HTML.)
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        if (http.Request.IsHttps)
            headers.StrictTransportSecurity = "max-age=31536000";
    }

    private sealed record RefusalAnswer(int Status, string Sentence);

    private static RefusalAnswer? Refusal(Exception exception, HttpContext http)
    {
        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WebHardening));
        // Antiforgery wraps a body it could not read (too large, too many fields) in its own exception.
        while (exception is not (BadHttpRequestException or InvalidDataException or DbException) && exception.InnerException is { } inner)
            exception = inner;
        switch (exception)
        {
            case BadHttpRequestException bad:
                logger.LogInformation("Refused {Method} {Path} from {Client}: {Reason}", http.Request.Method, http.Request.Path, http.Connection.RemoteIpAddress, bad.Message);
                return new(bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "The request is too large." : "The request is malformed.");
            case InvalidDataException invalid: // form limits (too many fields, a value too long)
                logger.LogInformation("Refused {Method} {Path} from {Client}: {Reason}", http.Request.Method, http.Request.Path, http.Connection.RemoteIpAddress, invalid.Message);
                return new(StatusCodes.Status400BadRequest, "The form is malformed or too large.");
            case DbException storage:
                var sentence = StorageFaults.Describe(storage, http.RequestServices.GetRequiredService<Database>().DataSource);
                // A server that is away is one outage, said once, not one error per request.
                if (!http.RequestServices.GetRequiredService<StorageOutage>().Absorb(storage))
                    logger.LogError("{Method} {Path} failed: {Reason}", http.Request.Method, http.Request.Path, sentence);
                return new(StatusCodes.Status503ServiceUnavailable, "The service cannot store anything right now; nothing was changed. Please try again later.");
            default:
                return null;
        }
    }

    internal static bool TryParseProxy(string value, out IPAddress? address, out System.Net.IPNetwork? network)
    {
        address = null;
        network = null;
        if (value.Contains('/'))
        {
            if (!System.Net.IPNetwork.TryParse(value, out var parsed))
                return false;
            network = parsed;
            return true;
        }
        return IPAddress.TryParse(value, out address);
    }
}
