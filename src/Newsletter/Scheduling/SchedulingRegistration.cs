using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Storage;
using Quartz;

namespace Newsletter.Scheduling;

public static class SchedulingRegistration
{
    /// <summary>
    /// Quartz with the jobs; cron and zone come from <see cref="ScheduleOptions"/>. On SQLite the
    /// schedule lives in memory (one instance); on PostgreSQL it is Quartz's clustered ADO.NET job
    /// store, so every instance shares one schedule and each trigger fires once across them.
    /// Must be called after the configuration is complete: the job store is chosen here.
    /// </summary>
    public static WebApplicationBuilder AddScheduling(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<ScheduleOptions, ScheduleOptionsValidator>(ScheduleOptions.Section);
        // What pages show as a reader's default zone and hour.
        builder.Services.AddOptions<Subscriptions.ScheduleDefaults>().Configure<IOptions<ScheduleOptions>, TimeProvider>((defaults, schedule, time) =>
        {
            defaults.TimeZone = schedule.Value.TimeZone;
            if (TimeZoneInfo.TryFindSystemTimeZoneById(schedule.Value.TimeZone, out _) && CronExpression.TryParse(schedule.Value.Digest, out _))
                defaults.SendHour = new Issues.ReaderClock(schedule.Value, TimeSpan.FromHours(1), time.GetUtcNow()).DefaultHour;
        });
        // Read leniently: a mistyped provider is reported by the configuration check, not here.
        var clustered = Enum.TryParse<DatabaseProvider>(builder.Configuration[$"{DatabaseOptions.Section}:Provider"], ignoreCase: true, out var provider)
            && provider == DatabaseProvider.Postgres;
        var connectionString = builder.Configuration[$"{DatabaseOptions.Section}:ConnectionString"] ?? "";
        builder.Services.AddQuartz(quartz =>
        {
            static ScheduleOptions Schedule(IServiceProvider services) => services.GetRequiredService<IOptions<ScheduleOptions>>().Value;
            quartz.ConfigureScheduler(scheduler => scheduler.InstanceName = ClusterNodes.SchedulerName);
            if (clustered)
            {
                quartz.UsePersistentStore(store =>
                {
                    // The qrtz_* tables come from our own migrations (Storage/Sql/quartz-postgres.sql);
                    // the store only checks they are there.
                    store.UsePostgres(Npgsql.NpgsqlFactory.Instance, connectionString);
                    store.UseSystemTextJsonSerializer();
                    // Clustering makes the instance id AUTO (generated per process). A node that
                    // misses its check-ins for this long is dead and its triggers recovered.
                    store.UseClustering(cluster =>
                    {
                        cluster.CheckinInterval = ClusterNodes.CheckinInterval;
                        cluster.CheckinMisfireThreshold = ClusterNodes.CheckinInterval * 2;
                    });
                });
            }
            // Durable: in a shared store, one node's start-up trigger that has fired must not delete the
            // job another node is scheduling. Recovery: a job whose node died while running it is run
            // again by another node.
            quartz.AddJob<CollectJob>(job => job.WithIdentity("collect").StoreDurably().RequestRecovery());
            quartz.AddTrigger((services, trigger) => trigger.ForJob("collect").WithIdentity("collect-cron")
                .WithCronSchedule(Schedule(services).Collect, cron => cron.InTimeZone(Schedule(services).Zone)
                    .WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed)));
            // Collect once at start-up too, so a fresh install has entries (or says why not) at once.
            quartz.AddTrigger(trigger => trigger.ForJob("collect").WithIdentity(CollectGate.StartupTrigger).StartNow());
            quartz.AddJob<DigestJob>(job => job.WithIdentity("digest").StoreDurably().RequestRecovery());
            quartz.AddTrigger((services, trigger) => trigger.ForJob("digest").WithIdentity("digest-cron")
                .WithCronSchedule(Schedule(services).Digest, cron => cron.InTimeZone(Schedule(services).Zone)
                    .WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed)));
            // A digest missed while the process was down is sent by the catch-up job below
            // (Quartz keeps its triggers in memory and would not know it was missed).
            // Readers with their own zone, hour or days: looked for every quarter of an hour. A trigger of
            // the same (non-concurrent) digest job, so clustered nodes never compose at once, and a poll
            // missed while every node was down is not replayed (the next one serves the same readers).
            quartz.AddTrigger((services, trigger) => trigger.ForJob("digest").WithIdentity("digest-readers")
                .WithCronSchedule(Schedule(services).ReaderPoll, cron => cron.InTimeZone(TimeZoneInfo.Utc)
                    .WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing)));
            quartz.AddJob<DigestCatchUpJob>(job => job.WithIdentity("digest-catch-up").StoreDurably());
            quartz.AddTrigger(trigger => trigger.ForJob("digest-catch-up").WithIdentity("digest-catch-up-at-start").StartNow());
            if (!clustered)
            {
                quartz.AddJob<RetryJob>(job => job.WithIdentity("retry").StoreDurably());
                quartz.AddTrigger((services, trigger) => trigger.ForJob("retry").WithIdentity("retry-poll").StartNow()
                    .WithSimpleSchedule(simple => simple.WithInterval(Schedule(services).RetryPoll).RepeatForever()));
            }
            // The bounce mailbox, when there is one: one pass at a time across every instance (the job
            // does not run concurrently, and a message read twice is counted once).
            if (!string.IsNullOrWhiteSpace(builder.Configuration[$"{Bounces.BounceOptions.Section}:ReturnPathDomain"])
                && !string.IsNullOrWhiteSpace(builder.Configuration[$"{Bounces.BounceOptions.Section}:Mailbox:Host"]))
            {
                quartz.AddJob<BounceMailboxJob>(job => job.WithIdentity("bounce-mailbox").StoreDurably());
                quartz.AddTrigger((services, trigger) => trigger.ForJob("bounce-mailbox").WithIdentity("bounce-mailbox-cron")
                    .WithCronSchedule(CronExpression.TryParse(services.GetRequiredService<IOptions<Bounces.BounceOptions>>().Value.Schedule, out _)
                        ? services.GetRequiredService<IOptions<Bounces.BounceOptions>>().Value.Schedule : new Bounces.BounceOptions().Schedule,
                        cron => cron.InTimeZone(TimeZoneInfo.Utc).WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing)));
            }
            quartz.AddJob<PurgeUnconfirmedJob>(job => job.WithIdentity("purge-unconfirmed").StoreDurably());
            quartz.AddTrigger(trigger => trigger.ForJob("purge-unconfirmed").WithIdentity("purge-hourly").StartNow()
                .WithSimpleSchedule(simple => simple.WithInterval(TimeSpan.FromHours(1)).RepeatForever()));
        });
        builder.Services.AddQuartzHostedService(options => options.WaitForJobsToComplete = true);
        if (clustered)
        {
            // The send is shared: every instance takes batches from the ledger, not only the one
            // whose trigger fired (Quartz would run a clustered retry job on one node only).
            builder.Services.AddHostedService<SharedSend>();
        }
        builder.Services.AddSingleton<ClusterNodes>();
        builder.Services.AddSingleton<CollectGate>();
        return builder;
    }
}
