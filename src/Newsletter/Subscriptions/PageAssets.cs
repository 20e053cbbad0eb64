using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;

namespace Newsletter.Subscriptions;

/// <summary>
/// The pages' static files, built into the binary: the subscribe page's time-zone guess (a script
/// from this site, which the Content-Security-Policy allows as <c>script-src 'self'</c>; an inline
/// one it blocks) and the favicon (without one every page view costs a 404 for <c>/favicon.ico</c>).
/// They are the same for everyone, so unlike the pages they may be cached, and are revalidated by
/// ETag so that an upgrade reaches browsers within a day.
/// </summary>
internal static class PageAssets
{
    public const string TimeZoneScriptPath = "/assets/time-zone.js";
    public const string FaviconPath = "/favicon.svg";

    private static readonly Asset TimeZoneScript = Asset.Load("time-zone.js", "text/javascript; charset=utf-8");
    private static readonly Asset Favicon = Asset.Load("favicon.svg", "image/svg+xml");

    public static WebApplication MapPageAssets(this WebApplication app)
    {
        app.MapGet(TimeZoneScriptPath, (HttpContext http) => Serve(http, TimeZoneScript));
        app.MapGet(FaviconPath, (HttpContext http) => Serve(http, Favicon));
        // Browsers ask for /favicon.ico whatever the page says (and for non-HTML answers such as /health).
        app.MapGet("/favicon.ico", (HttpContext http) => Serve(http, Favicon));
        return app;
    }

    private static IResult Serve(HttpContext http, Asset asset)
    {
        http.Response.Headers.CacheControl = "public, max-age=86400";
        // With the ETag, a conditional request (If-None-Match) gets 304 without the body.
        return TypedResults.Bytes(asset.Bytes, asset.ContentType, entityTag: asset.ETag);
    }

    private sealed record Asset(byte[] Bytes, string ContentType, EntityTagHeaderValue ETag)
    {
        public static Asset Load(string name, string contentType)
        {
            using var stream = typeof(PageAssets).Assembly.GetManifestResourceStream($"Newsletter.Subscriptions.Assets.{name}")
                ?? throw new InvalidOperationException($"The embedded page asset {name} is missing from the build.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            return new Asset(bytes, contentType, new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\""));
        }
    }
}
