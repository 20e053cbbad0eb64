using System.Security.Cryptography;
using System.Text;
using Microsoft.Net.Http.Headers;

namespace Newsletter.Archive;

/// <summary>
/// Conditional GET for what the archive serves: the ETag is a hash of the body (so it changes exactly when
/// the bytes do, on every instance alike), Last-Modified is when its content last changed, and a request
/// that already has the current version gets 304 without the body. Cache-Control lets browsers and
/// shared caches keep it for <c>Archive:CacheFor</c>: the pages hold nothing personal.
/// </summary>
internal static class HttpCaching
{
    public static IResult Serve(HttpContext http, string body, string contentType, DateTimeOffset lastModified, TimeSpan cacheFor)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var etag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..20]}\"");
        // HTTP dates have whole seconds: compared at that precision, a copy made this second is current.
        var modified = new DateTimeOffset(lastModified.UtcTicks - lastModified.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        var response = http.Response.GetTypedHeaders();
        response.ETag = etag;
        response.LastModified = modified;
        http.Response.Headers.CacheControl = $"public, max-age={(long)cacheFor.TotalSeconds}";
        return IsCurrent(http.Request.GetTypedHeaders(), etag, modified)
            ? TypedResults.StatusCode(StatusCodes.Status304NotModified)
            : TypedResults.Bytes(bytes, contentType);
    }

    /// <summary>If-None-Match decides when it is sent (RFC 9110 13.2.2); only without it does If-Modified-Since count.</summary>
    private static bool IsCurrent(Microsoft.AspNetCore.Http.Headers.RequestHeaders request, EntityTagHeaderValue etag, DateTimeOffset modified)
    {
        if (request.IfNoneMatch is { Count: > 0 } tags)
            return tags.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(etag, useStrongComparison: false));
        return request.IfModifiedSince is { } since && modified <= since;
    }
}
