using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Quartz;

namespace Newsletter.Scheduling;

public static class SchedulingRegistration
{
    /// <summary>Quartz with the three jobs; cron and zone come from <see cref="ScheduleOptions"/>.</summary>
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
        builder.Services.AddQuartz(quartz =>
        {
            static ScheduleOptions Schedule(IServiceProvider services) => services.GetRequiredService<IOptions<ScheduleOptions>>().Value;
            quartz.AddJob<CollectJob>(job => job.WithIdentity("collect"));
            quartz.AddTrigger((services, trigger) => trigger.ForJob("collect").WithIdentity("collect-cron")
                .WithCronSchedule(Schedule(services).Collect, cron => cron.InTimeZone(Schedule(services).Zone)
                    .WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed)));
            // Collect once at start-up too, so a fresh install has entries (or says why not) at once.
            quartz.AddTrigger(trigger => trigger.ForJob("collect").WithIdentity("collect-at-start").StartNow());
            quartz.AddJob<DigestJob>(job => job.WithIdentity("digest"));
            quartz.AddTrigger((services, trigger) => trigger.ForJob("digest").WithIdentity("digest-cron")
                .WithCronSchedule(Schedule(services).Digest, cron => cron.InTimeZone(Schedule(services).Zone)
                    .WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed)));
            // A digest missed while the process was down is sent by the catch-up job below
            // (Quartz keeps its triggers in memory and would not know it was missed).
            // Readers with their own zone, hour or days: looked for every quarter of an hour.
            quartz.AddTrigger((services, trigger) => trigger.ForJob("digest").WithIdentity("digest-readers")
                .WithCronSchedule(Schedule(services).ReaderPoll, cron => cron.InTimeZone(TimeZoneInfo.Utc)
                    .WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing)));
            quartz.AddJob<DigestCatchUpJob>(job => job.WithIdentity("digest-catch-up"));
            quartz.AddTrigger(trigger => trigger.ForJob("digest-catch-up").WithIdentity("digest-catch-up-at-start").StartNow());
            quartz.AddJob<RetryJob>(job => job.WithIdentity("retry"));
            quartz.AddTrigger((services, trigger) => trigger.ForJob("retry").WithIdentity("retry-poll").StartNow()
                .WithSimpleSchedule(simple => simple.WithInterval(Schedule(services).RetryPoll).RepeatForever()));
            quartz.AddJob<PurgeUnconfirmedJob>(job => job.WithIdentity("purge-unconfirmed"));
            quartz.AddTrigger(trigger => trigger.ForJob("purge-unconfirmed").WithIdentity("purge-hourly").StartNow()
                .WithSimpleSchedule(simple => simple.WithInterval(TimeSpan.FromHours(1)).RepeatForever()));
        });
        builder.Services.AddQuartzHostedService(options => options.WaitForJobsToComplete = true);
        return builder;
    }
}
