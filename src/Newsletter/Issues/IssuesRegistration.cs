namespace Newsletter.Issues;

public static class IssuesRegistration
{
    /// <summary>Issues and the per-reader digests composed from them; Orchestration's daily digest drives them.</summary>
    public static WebApplicationBuilder AddIssues(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IssueStore>();
        builder.Services.AddSingleton<ArchiveStore>();
        builder.Services.AddSingleton<DigestComposer>();
        return builder;
    }
}
