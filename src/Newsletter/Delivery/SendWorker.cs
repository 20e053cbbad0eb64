using System.Data.Common;
using System.Threading.RateLimiting;

namespace Newsletter.Delivery;

/// <summary>
/// One connection's worker: takes claimed deliveries from the queue, builds each message, sends it
/// and hands the outcome to the recorder, waiting until it is in the ledger before the next send, so
/// that a crash resends at most the one message this connection had in flight.
/// </summary>
internal sealed class SendWorker(
    DispatchRun run,
    IMailTransport transport,
    IRunMessages messages,
    RateLimiter? rateLimiter,
    RefusalBreaker breaker,
    RetryPolicy retries,
    ILogger logger)
{
    // The subscriber status the ledger join reports for a reader who still wants mail.
    private const string ActiveSubscriber = "active";

    public async Task WorkAsync()
    {
        var stop = run.Stopping;
        IMailSender? sender = null;
        try
        {
            await foreach (var delivery in run.Queue.Reader.ReadAllAsync(stop))
            {
                if (stop.IsCancellationRequested)
                    break;
                DeliveryResult result;
                if (delivery.SubscriberStatus != ActiveSubscriber)
                {
                    result = RetryPolicy.Result(delivery, DeliveryStatus.Skipped, $"subscriber is {delivery.SubscriberStatus}");
                }
                else
                {
                    var message = await messages.BuildAsync(delivery, stop);
                    if (rateLimiter is not null)
                        using (await rateLimiter.AcquireAsync(1, stop)) { }
                    sender ??= await transport.ConnectAsync(stop);
                    stop.ThrowIfCancellationRequested();
                    try
                    {
                        // Once begun, a send finishes (and is recorded) even when the run is
                        // stopping: only the shutdown deadline cuts it off.
                        run.InFlight.TryAdd(delivery.Id, 0);
                        await sender.SendAsync(message, run.Aborting);
                        result = RetryPolicy.Result(delivery, DeliveryStatus.Sent, null);
                    }
                    catch (DeliveryException failure) when (failure.Kind != FailureKind.RunLevel)
                    {
                        result = retries.Failed(delivery, failure);
                        logger.LogWarning("Delivery to {Email} {Outcome}: {Reason}", delivery.Email,
                            failure.Kind == FailureKind.MessageRefused ? "refused (message, not reader)"
                            : result.Status == DeliveryStatus.Pending ? "deferred" : result.Status, failure.Message);
                    }
                    if (result.Status == DeliveryStatus.Bounced)
                    {
                        breaker.Hold(delivery, result);
                        run.InFlight.TryRemove(delivery.Id, out _);
                        sender = await DropIfBrokenAsync(sender);
                        continue;
                    }
                    breaker.Observe(result);
                    sender = await DropIfBrokenAsync(sender);
                }
                // Wait until the outcome is in the ledger before the next send: a crash then
                // resends at most the one message each connection had in flight.
                var outcome = new Outcome(delivery, result);
                run.Outcomes.Writer.TryWrite(outcome);
                await outcome.Persisted.Task;
                run.InFlight.TryRemove(delivery.Id, out _);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        catch (DeliveryException failure)
        {
            run.Fail(failure.Message);
        }
        catch (MessageUnavailableException exception)
        {
            run.Fail($"the digest cannot be rendered: {exception.Message}");
        }
        catch (Exception exception) when (exception is DbException)
        {
            run.Fail($"the delivery ledger cannot be written: {exception.Message}");
        }
        catch (Exception exception)
        {
            // A bug must not leave the other workers sending blind: stop the run, release what is claimed.
            logger.LogError(exception, "Delivery worker failed");
            run.Fail($"unexpected {exception.GetType().Name}: {exception.Message}");
        }
        finally
        {
            if (sender is not null)
                await sender.DisposeAsync();
        }
    }

    /// <summary>A connection that broke is closed; the next send connects afresh.</summary>
    private static async Task<IMailSender?> DropIfBrokenAsync(IMailSender sender)
    {
        if (sender.IsUsable)
            return sender;
        await sender.DisposeAsync();
        return null;
    }
}
