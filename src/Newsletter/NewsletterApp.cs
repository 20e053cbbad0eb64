using Newsletter.Admin;
using Newsletter.Archive;
using Newsletter.Bounces;
using Newsletter.Configuration;
using Newsletter.Delivery;
using Newsletter.Health;
using Newsletter.Hosting;
using Newsletter.Issues;
using Newsletter.Orchestration;
using Newsletter.Rendering;
using Newsletter.Scheduling;
using Newsletter.Sources;
using Newsletter.Storage;
using Newsletter.Subscriptions;
using Newsletter.Web;

namespace Newsletter;

/// <summary>Builds the one host behind every verb: the table of contents of the features.</summary>
public static class NewsletterApp
{
    /// <param name="args">The command line; only the service verb passes it on as configuration.</param>
    /// <param name="contentRoot">Where appsettings.json is read from (tests use their own).</param>
    /// <param name="configure">Last-word configuration, for tests.</param>
    public static WebApplication Build(string[] args, string? contentRoot = null, Action<WebApplicationBuilder>? configure = null)
    {
        // Feeds declare windows-1252, ISO-8859-2, Shift_JIS, ...: .NET ships only the Unicode and Latin-1
        // encodings until the code-page provider is registered (idempotent, process-wide).
        System.Text.Encoding.RegisterProvider(System.Text.CodePagesEncodingProvider.Instance);
        // The verb comes first; a command line that starts with an option (--urls ...) runs the service.
        var (overrides, rest) = Cli.ConfigurationArguments.Split(args);
        var verb = rest.Length > 0 && !rest[0].StartsWith('-') ? rest[0] : null;
        var runsService = verb is null or "run";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            // Verbs take their own options; only the service reads --urls and friends as
            // configuration. Every verb honours --Newsletter:Key=value overrides.
            Args = !runsService ? overrides : verb == "run" ? args.Where((_, i) => i != Array.IndexOf(args, "run")).ToArray() : args,
            ContentRootPath = contentRoot ?? DefaultContentRoot(),
        });
        builder.AddSecretFiles();
        if (runsService)
            builder.AddSystemdService();
        if (!runsService)
        {
            // A verb's output is its stdout; logs go to stderr and stay brief.
            builder.Logging.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("System.Net.Http", LogLevel.Warning);
            // collect prints each source's outcome itself: its log lines would say every failure twice.
            builder.Logging.AddFilter(Collector.FailureCategory, LogLevel.None);
            // templates check prints each template error itself, once, in the file:line:col form.
            if (verb == "templates")
                builder.Logging.AddFilter(typeof(TemplateStore).FullName, LogLevel.None);
        }
        else
        {
            // The CLI says in one sentence why the service could not start (a busy port, a bad
            // address); the host's "Hosting failed to start" error would repeat it as a trace.
            // A background service that stops the host is still logged (at Critical).
            builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        }
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, builder.Configuration["urls"] ?? "http://localhost:5080");

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddValidatedOptions<NewsletterOptions, NewsletterOptionsValidator>(NewsletterOptions.Section);
        builder.AddStorage()
            .AddOrchestration()
            .AddSubscriptions()
            .AddCollecting()
            .AddIssues()
            .AddRendering()
            .AddDelivery()
            .AddBounces()
            .AddHealth()
            .AddAdmin()
            .AddWebHardening();
        configure?.Invoke(builder);
        // Last: the job store (in memory or clustered) and the exporters follow the final configuration.
        builder.AddScheduling();
        builder.AddTelemetry();

        var app = builder.Build();
        app.UseWebHardening();
        app.MapHealth();
        app.MapSubscriptions();
        app.MapAdmin();
        app.MapConsole();
        app.MapArchive();
        app.MapMetrics();
        app.LogStartupReport();
        return app;
    }

    /// <summary>
    /// The current folder when it holds appsettings.json (the repo root, or the build output);
    /// otherwise the binary's folder, which carries a copy. Null lets the host (or
    /// WebApplicationFactory) decide.
    /// </summary>
    private static string? DefaultContentRoot() =>
        File.Exists(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json")) ? null : AppContext.BaseDirectory;
}
