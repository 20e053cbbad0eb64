using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Newsletter.Tests.Support;

/// <summary>
/// Serves recorded feed files from 127.0.0.1 on a free port, with a strong ETag per file so
/// conditional GET can be tested; <see cref="Requests"/> counts what was asked.
/// </summary>
public sealed class FixtureServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FixtureServer(WebApplication app) => _app = app;

    public ConcurrentQueue<(string Path, string? IfNoneMatch)> Requests { get; } = new();

    /// <summary>Per path: the body, or null for a 500.</summary>
    public ConcurrentDictionary<string, byte[]?> Files { get; } = new();

    /// <summary>Content-Type header per path (none by default).</summary>
    public ConcurrentDictionary<string, string> ContentTypes { get; } = new();

    /// <summary>Paths answered with a redirect to the given location.</summary>
    public ConcurrentDictionary<string, string> Redirects { get; } = new();

    public string BaseUrl { get; private set; } = "";

    public string Url(string path) => BaseUrl + path;

    public static async Task<FixtureServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FixtureServer(app);
        app.Run(async context =>
        {
            var path = context.Request.Path.Value ?? "";
            var ifNoneMatch = context.Request.Headers.IfNoneMatch.ToString();
            server.Requests.Enqueue((path, ifNoneMatch.Length == 0 ? null : ifNoneMatch));
            if (server.Redirects.TryGetValue(path, out var location))
            {
                context.Response.StatusCode = StatusCodes.Status302Found;
                context.Response.Headers.Location = location;
                return;
            }
            if (server.ContentTypes.TryGetValue(path, out var contentType))
                context.Response.ContentType = contentType;
            if (!server.Files.TryGetValue(path, out var body))
            {
                context.Response.StatusCode = 404;
                return;
            }
            if (body is null)
            {
                context.Response.StatusCode = 500;
                return;
            }
            var etag = $"\"{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(body))[..16]}\"";
            if (ifNoneMatch == etag)
            {
                context.Response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }
            context.Response.Headers.ETag = etag;
            await context.Response.Body.WriteAsync(body);
        });
        await app.StartAsync();
        server.BaseUrl = app.Urls.First().TrimEnd('/');
        return server;
    }

    public void Serve(string path, string fixtureFile) => Files[path] = File.ReadAllBytes(Fixtures.PathOf(fixtureFile));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public static class Fixtures
{
    public static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);
}
