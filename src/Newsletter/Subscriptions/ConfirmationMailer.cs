using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Delivery;
using Newsletter.Rendering;
using Scriban.Runtime;

namespace Newsletter.Subscriptions;

/// <summary>
/// Sends double opt-in confirmations in the background, right away (not at digest time). Queuing
/// keeps the subscribe response equally fast whether or not a mail is due, so its timing reveals
/// nothing; a failed send is retried a few times and then logged.
/// </summary>
public sealed class ConfirmationMailer(
    SubscriberStore subscribers,
    MailLinks links,
    TemplateRenderer templates,
    DigestMessageBuilder messages,
    TransportFactory transports,
    IOptions<NewsletterOptions> newsletter,
    IOptions<SubscriptionOptions> options,
    TimeProvider time,
    ILogger<ConfirmationMailer> logger) : BackgroundService
{
    public const string SubjectTemplate = "confirm.subject.sbn";
    public const string HtmlTemplate = "confirm.html.sbn";
    public const string TextTemplate = "confirm.txt.sbn";

    public static readonly string[] Required = [SubjectTemplate, HtmlTemplate, TextTemplate];

    private static readonly TimeSpan[] RetryDelays = [TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2)];

    private readonly Channel<long> _queue = Channel.CreateUnbounded<long>();

    public void Enqueue(long subscriberId) => _queue.Writer.TryWrite(subscriberId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var subscriberId in _queue.Reader.ReadAllAsync(stoppingToken))
                _ = SendWithRetriesAsync(subscriberId, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping, also when start-up failed (a busy port): the host would call this a fault.
        }
    }

    private async Task SendWithRetriesAsync(long subscriberId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await SendAsync(subscriberId, cancellationToken);
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (attempt < RetryDelays.Length && exception is DeliveryException { Kind: not FailureKind.Permanent })
            {
                logger.LogWarning("Confirmation mail to subscriber {Id} failed, retrying in {Delay}: {Reason}", subscriberId, RetryDelays[attempt], exception.Message);
                await Task.Delay(RetryDelays[attempt], time, cancellationToken);
            }
            catch (Exception exception)
            {
                logger.LogError("Confirmation mail to subscriber {Id} not sent: {Reason}", subscriberId, exception.Message);
                return;
            }
        }
    }

    public async Task SendAsync(long subscriberId, CancellationToken cancellationToken)
    {
        var subscriber = await subscribers.FindAsync(subscriberId, cancellationToken);
        if (subscriber is not { Status: SubscriberStatus.Pending })
            return;
        var mail = Render(
            subscriber.Email,
            links.Confirm(subscriber.Id, time.GetUtcNow() + options.Value.ConfirmationLifetime, subscriber.PendingSince ?? 0),
            links.Preferences(subscriber.Id));
        var message = messages.Build(
            mail.Subject,
            mail.Html,
            mail.Text,
            subscriber.Email,
            // Random only: a subscriber id here would tell anyone how large the list is.
            $"<confirm.{Guid.NewGuid():N}@{newsletter.Value.From.Address[(newsletter.Value.From.Address.LastIndexOf('@') + 1)..]}>",
            time.GetUtcNow());
        var transport = transports.Create();
        await using var sender = await transport.ConnectAsync(cancellationToken);
        await sender.SendAsync(message, cancellationToken);
        logger.LogInformation("Confirmation mail sent to {Email}", subscriber.Email);
    }

    /// <summary>
    /// The confirmation mail's subject and finished bodies: what is sent, and what the template lint
    /// (<c>templates check --lint</c>) checks. The preferences link lets a reader choose what they get
    /// before the first digest; it works while they are still pending.
    /// </summary>
    public (string Subject, string Html, string Text) Render(string email, string confirmUrl, string preferencesUrl)
    {
        var model = new ScriptObject
        {
            ["newsletter"] = DigestRenderer.NewsletterModel(newsletter.Value),
            ["subscriber"] = new ScriptObject { ["email"] = email },
            ["confirm_url"] = confirmUrl,
            ["preferences_url"] = preferencesUrl,
            ["expires_in_days"] = (int)Math.Ceiling(options.Value.ConfirmationLifetime.TotalDays),
        };
        return (
            TemplateRenderer.HeaderSafe(templates.Render(SubjectTemplate, model)),
            MailHtml.Finish(templates.Render(HtmlTemplate, model)),
            LineWrapper.WrapText(templates.Render(TextTemplate, model), 76));
    }
}
