namespace Newsletter.Orchestration;

public static class OrchestrationRegistration
{
    /// <summary>What spans the features: start-up (migrate, load the link key) and the daily loop.</summary>
    public static WebApplicationBuilder AddOrchestration(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<StartupTasks>();
        // Runs before the other hosted services (Quartz, Kestrel, mailers) so they find a ready database.
        builder.Services.AddHostedService(services => services.GetRequiredService<StartupTasks>());
        builder.Services.AddSingleton<DailyDigest>();
        builder.Services.AddSingleton<DigestPreviews>();
        builder.Services.AddSingleton<ReaderActions>();
        builder.Services.AddSingleton<OperatorConsole>();
        builder.Services.AddSingleton<ArchivePages>();
        builder.Services.AddSingleton<Delivery.IDigestMessages, DigestMessages>();
        // Every feature's templates at once: templates check, /health, and the folder check at start.
        builder.Services.AddSingleton<TemplateChecker>();
        builder.Services.AddSingleton<Configuration.IStartupRequirement, TemplatesFolderValidator>();
        return builder;
    }
}
