using System.Globalization;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Orchestration;
using Newsletter.Subscriptions;

namespace Newsletter.Archive;

/// <summary>
/// The public archive: <c>GET /archive</c> (the index, paged with <c>?page=N</c>), <c>GET /archive/{yyyy-MM-dd}</c>
/// (one day's public issue), <c>GET /feed.xml</c> (Atom) and <c>GET /feed.json</c> (JSON Feed), the issue and the
/// feeds also per topic (<c>?topic=cs.CV</c>). All of it answers 404 with <c>Archive:Enabled</c> false. Every
/// answer is the same for every visitor, carries ETag and Last-Modified, and is cacheable.
/// </summary>
public static class ArchiveEndpoints
{
    public static WebApplication MapArchive(this WebApplication app)
    {
        var archive = app.MapGroup("").AddEndpointFilter(async (context, next) =>
            context.HttpContext.RequestServices.GetRequiredService<IOptions<NewsletterOptions>>().Value.Archive.Enabled
                ? await next(context)
                : TypedResults.NotFound());
        archive.MapGet("/archive", IndexAsync);
        archive.MapGet("/archive/{date}", IssueAsync);
        archive.MapGet("/feed.xml", (HttpContext http, string? topic, ArchiveStore store, IOptions<NewsletterOptions> options, TopicCatalog topics, CancellationToken cancellationToken) =>
            FeedAsync(http, topic, store, options.Value, topics, ArchiveFeeds.Atom, ArchiveFeeds.AtomType, cancellationToken));
        archive.MapGet("/feed.json", (HttpContext http, string? topic, ArchiveStore store, IOptions<NewsletterOptions> options, TopicCatalog topics, CancellationToken cancellationToken) =>
            FeedAsync(http, topic, store, options.Value, topics, ArchiveFeeds.Json, ArchiveFeeds.JsonFeedType, cancellationToken));
        return app;
    }

    private const string HtmlType = "text/html; charset=utf-8";

    private static async Task<IResult> IndexAsync(HttpContext http, string? page, ArchivePages pages, IOptions<NewsletterOptions> options, CancellationToken cancellationToken)
    {
        var number = 1;
        if (page is not null && (!int.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number < 1))
            return TypedResults.NotFound();
        if (await pages.IndexAsync(number, cancellationToken) is not { } rendered)
            return TypedResults.NotFound();
        return HttpCaching.Serve(http, rendered.Html, HtmlType, rendered.LastModified, options.Value.Archive.CacheFor);
    }

    private static async Task<IResult> IssueAsync(HttpContext http, string date, string? topic, ArchivePages pages, TopicCatalog topics,
        IOptions<NewsletterOptions> options, CancellationToken cancellationToken)
    {
        if (!DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            return TypedResults.NotFound();
        if (TopicProblem(topic, topics) is { } problem)
            return problem;
        if (await pages.IssueAsync(day, Topic(topic), cancellationToken) is not { } rendered)
            return TypedResults.NotFound();
        return HttpCaching.Serve(http, rendered.Html, HtmlType, rendered.LastModified, options.Value.Archive.CacheFor);
    }

    private static async Task<IResult> FeedAsync(HttpContext http, string? topic, ArchiveStore store, NewsletterOptions options, TopicCatalog topics,
        Func<NewsletterOptions, IReadOnlyList<ArchivedIssue>, string?, WrittenFeed> write, string contentType, CancellationToken cancellationToken)
    {
        if (TopicProblem(topic, topics) is { } problem)
            return problem;
        var issues = await store.LatestAsync(options.Archive.FeedIssues, Topic(topic), cancellationToken);
        var feed = write(options, issues, Topic(topic));
        return HttpCaching.Serve(http, feed.Body, contentType, feed.LastModified, options.Archive.CacheFor);
    }

    private static string? Topic(string? topic) => string.IsNullOrWhiteSpace(topic) ? null : topic.Trim();

    /// <summary>A topic no reader could choose is refused in one sentence (with the nearest name), as the subscribe form refuses it.</summary>
    private static IResult? TopicProblem(string? topic, TopicCatalog topics)
    {
        if (Topic(topic) is not { } value)
            return null;
        if (value.Length > Preferences.MaxTopicLength)
            return TypedResults.BadRequest($"The topic is longer than {Preferences.MaxTopicLength} characters.");
        return topics.Problem(value) is { } problem ? TypedResults.BadRequest(problem) : null;
    }
}
