using Newsletter.Configuration;

namespace Newsletter.Bounces;

public static class BouncesRegistration
{
    /// <summary>VERP return paths, the bounce mailbox and what its messages do to the ledger (the job is in Scheduling).</summary>
    public static WebApplicationBuilder AddBounces(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<BounceOptions, BounceOptionsValidator>(BounceOptions.Section);
        builder.Services.AddSingleton<ReturnPaths>();
        builder.Services.AddSingleton<BounceParser>();
        builder.Services.AddSingleton<BounceRecorder>();
        builder.Services.AddSingleton<BounceInbox>();
        return builder;
    }
}
