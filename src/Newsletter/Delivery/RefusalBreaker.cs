using System.Threading.Channels;

namespace Newsletter.Delivery;

/// <summary>
/// Tells refusals about the readers from refusals about us. Permanent RCPT refusals are held, not
/// recorded, until the run shows they are about the readers: a relay refusing every recipient for a
/// reason of its own (our sender's domain, a policy, a missing relay permission, often without an
/// enhanced code) must not suspend the list. Held refusals are recorded as bounces once the relay
/// accepts a recipient after them, or at the end of a run the breaker did not stop; the breaker
/// stops the run, leaving them pending, at <c>MaxConsecutiveRefusals</c> held in a row when the relay
/// has accepted nobody yet in this run or they all carry the same reply (addresses removed).
/// Likewise a relay that refuses message after message (content, reputation, policy) would refuse
/// the rest too: at <c>MaxConsecutiveRefusals</c> in a row the run stops and tells the operator.
/// </summary>
internal sealed class RefusalBreaker(int maxConsecutiveRefusals, DispatchRun run, ChannelWriter<Outcome> outcomes)
{
    // Lock it to touch it, _acceptedAny or _tripped.
    private readonly List<Outcome> _held = [];
    private bool _acceptedAny;
    private bool _tripped;
    private int _consecutiveMessageRefusals;

    /// <summary>The relay accepted a message in this run.</summary>
    public bool AcceptedAny
    {
        get
        {
            lock (_held)
                return _acceptedAny;
        }
    }

    /// <summary>Holds a permanent RCPT refusal (the worker moves on without waiting for the ledger); may trip the breaker.</summary>
    public void Hold(ClaimedDelivery delivery, DeliveryResult result)
    {
        string? trip = null;
        lock (_held)
        {
            _held.Add(new Outcome(delivery, result));
            if (_held.Count >= maxConsecutiveRefusals)
            {
                var reply = SmtpRefusal.WithoutAddresses(result.Error ?? "");
                var same = _held.All(h => SmtpRefusal.WithoutAddresses(h.Result.Error ?? "") == reply);
                if (!_acceptedAny || same)
                    _tripped = true;
                if (_tripped)
                    trip = $"the relay refused {_held.Count} recipients in a row "
                        + (_acceptedAny ? "with the same reply" : "before accepting any")
                        + $" ({result.Error}); that points at our sender, the relay's policy or its configuration, not the readers: "
                        + "nobody was suspended, the rest stay queued. Check the relay's log and Smtp:From, then run send-now again";
            }
        }
        if (trip is not null)
            run.Fail(trip);
    }

    /// <summary>Every other outcome of a send: an acceptance records what is held; message refusals are counted.</summary>
    public void Observe(DeliveryResult result)
    {
        if (result.Status == DeliveryStatus.Sent)
        {
            lock (_held)
                _acceptedAny = true;
            Flush();
        }
        if (RetryPolicy.IsMessageRefusal(result))
        {
            if (Interlocked.Increment(ref _consecutiveMessageRefusals) is var refusals && refusals >= maxConsecutiveRefusals)
                run.Fail($"the relay refused {refusals} messages in a row ({result.Error![RetryPolicy.MessageRefusedPrefix.Length..]}); "
                    + "the message or the sender is refused, not the readers: nobody was suspended, the rest stay queued. Check the relay's log and the digest's content, then run send-now again");
        }
        else if (result.Status == DeliveryStatus.Sent)
        {
            Interlocked.Exchange(ref _consecutiveMessageRefusals, 0);
        }
    }

    /// <summary>
    /// At the end of a run: refusals still held are the readers' own when the breaker did not trip.
    /// A run stopped for another reason, or by shutdown before anyone was accepted, leaves them pending.
    /// </summary>
    public void Finish()
    {
        if (run.Failure is null && (AcceptedAny || !run.Interrupted))
            Flush();
    }

    /// <summary>Sends what is held to the recorder, unless the breaker tripped.</summary>
    private void Flush()
    {
        List<Outcome> taken;
        lock (_held)
        {
            if (_tripped)
                return;
            taken = _held.ToList();
            _held.Clear();
        }
        foreach (var held in taken)
            outcomes.TryWrite(new Outcome(held.Delivery, held.Result));
    }
}
