using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Sources;

public static class CollectingRegistration
{
    /// <summary>Redirects followed per fetch; past them the source fails with "too many redirects".</summary>
    public const int MaxRedirects = 5;

    public static WebApplicationBuilder AddCollecting(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<SourcesOptions, SourcesOptionsValidator>(SourcesOptions.Section);
        builder.Services.AddSingleton<IPostConfigureOptions<SourcesOptions>, SourcesOptionsSetup>();
        builder.Services.AddHttpClient(FeedFetcher.HttpClientName, client =>
            {
                client.DefaultRequestHeaders.UserAgent.ParseAdd("Newsletter/1.0 (self-hosted papers digest)");
                // The per-source timeout in FeedFetcher governs; this only stops the default 100 s from cutting in first.
                client.Timeout = Timeout.InfiniteTimeSpan;
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AutomaticDecompression = System.Net.DecompressionMethods.All,
                MaxAutomaticRedirections = MaxRedirects,
            });
        builder.Services.AddSingleton<FeedFetcher>();
        builder.Services.AddSingleton<EntryStore>();
        builder.Services.AddSingleton<SourceStateStore>();
        builder.Services.AddSingleton<SourceHealthStore>();
        builder.Services.AddSingleton<ArxivCategories>();
        builder.Services.AddValidatedOptions<RankingOptions, RankingOptionsValidator>(RankingOptions.Section);
        builder.Services.AddSingleton<PaperEmbeddings>();
        builder.Services.AddSingleton<PaperLookup>();
        builder.Services.AddSingleton<Collector>();
        return builder;
    }
}
