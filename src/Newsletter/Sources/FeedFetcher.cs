using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;

namespace Newsletter.Sources;

/// <summary>What the last successful fetch of a source answered, for conditional GET.</summary>
public sealed record SourceState(string? ETag, string? LastModified);

public sealed record FetchResult(bool NotModified, ReadOnlyMemory<byte> Content, SourceState State);

/// <summary>
/// Fetches a source over http(s) with conditional GET, or from a file:// URL (its modification
/// time plays Last-Modified), bounded in time and size.
/// </summary>
public sealed class FeedFetcher(IHttpClientFactory httpClientFactory, IOptions<SourcesOptions> options)
{
    public const string HttpClientName = "sources";

    public async Task<FetchResult> FetchAsync(SourceDefinition source, SourceState previous, CancellationToken cancellationToken)
    {
        var url = new Uri(source.Url);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.SourceTimeout);
        try
        {
            return url.IsFile
                ? await FetchFileAsync(url.LocalPath, previous, timeout.Token)
                : await FetchHttpAsync(url, previous, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SourceException($"no complete answer within {options.Value.SourceTimeout.TotalSeconds:0} s");
        }
    }

    private async Task<FetchResult> FetchFileAsync(string path, SourceState previous, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
            throw new SourceException($"file not found: {path}");
        var modified = File.GetLastWriteTimeUtc(path).ToString("O", CultureInfo.InvariantCulture);
        var state = new SourceState(null, modified);
        if (previous.LastModified == modified)
            return new FetchResult(true, default, previous);
        await using var stream = File.OpenRead(path);
        return new FetchResult(false, await ReadCappedAsync(stream, cancellationToken), state);
    }

    private async Task<FetchResult> FetchHttpAsync(Uri url, SourceState previous, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (previous.ETag is not null && EntityTagHeaderValue.TryParse(previous.ETag, out var etag))
            request.Headers.IfNoneMatch.Add(etag);
        if (previous.LastModified is not null && DateTimeOffset.TryParse(previous.LastModified, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var since))
            request.Headers.IfModifiedSince = since;

        var client = httpClientFactory.CreateClient(HttpClientName);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotModified)
            return new FetchResult(true, default, previous);
        // HttpClient answers the last 3xx once MaxAutomaticRedirections is used up (a loop, or a long chain).
        if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is not null)
            throw new SourceException($"too many redirects (still redirected to {response.Headers.Location} after the limit of {CollectingRegistration.MaxRedirects})");
        if (!response.IsSuccessStatusCode)
            throw new SourceException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        if (response.Content.Headers.ContentLength > options.Value.MaxSourceBytes)
            throw new SourceException($"response of {response.Content.Headers.ContentLength} bytes exceeds the limit of {options.Value.MaxSourceBytes}");

        var state = new SourceState(
            response.Headers.ETag?.ToString(),
            response.Content.Headers.LastModified?.ToString("R", CultureInfo.InvariantCulture));
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var content = await ReadCappedAsync(stream, cancellationToken);
        return new FetchResult(false, WithHeaderCharset(content, response.Content.Headers.ContentType?.CharSet), state);
    }

    /// <summary>
    /// RFC 7303: an XML body whose prolog names no encoding (and has no BOM) is in the charset of the
    /// Content-Type header. The XML reader knows only the bytes, so such a body is re-encoded as UTF-8,
    /// which is what a prolog without encoding means. file:// sources have no header and are left alone.
    /// </summary>
    internal static ReadOnlyMemory<byte> WithHeaderCharset(ReadOnlyMemory<byte> content, string? charset)
    {
        if (string.IsNullOrWhiteSpace(charset))
            return content;
        var span = content.Span;
        if (span.StartsWith("\uFEFF"u8) || span.StartsWith(new byte[] { 0xFF, 0xFE }) || span.StartsWith(new byte[] { 0xFE, 0xFF }))
            return content;
        var start = span.IndexOfAnyExcept(" \t\r\n"u8);
        if (start < 0 || span[start] != (byte)'<')
            return content; // JSON is UTF-8 by definition (RFC 8259)
        if (span[start..].StartsWith("<?xml"u8))
        {
            var prolog = span[start..];
            var end = prolog.IndexOf("?>"u8);
            var declaration = Encoding.ASCII.GetString(end > 0 ? prolog[..end] : prolog[..Math.Min(prolog.Length, 200)]);
            if (declaration.Contains("encoding", StringComparison.OrdinalIgnoreCase))
                return content;
        }
        Encoding encoding;
        try { encoding = Encoding.GetEncoding(charset.Trim('"', '\'', ' ')); }
        catch (ArgumentException) { throw new SourceException($"the Content-Type names an unknown charset '{charset}'"); }
        if (encoding.CodePage == Encoding.UTF8.CodePage)
            return content;
        return Encoding.UTF8.GetBytes(encoding.GetString(span));
    }

    private async Task<ReadOnlyMemory<byte>> ReadCappedAsync(Stream stream, CancellationToken cancellationToken)
    {
        var limit = options.Value.MaxSourceBytes;
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
                throw new SourceException($"response exceeds the limit of {limit} bytes");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}
