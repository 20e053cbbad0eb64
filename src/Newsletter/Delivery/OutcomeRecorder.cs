using System.Data.Common;

namespace Newsletter.Delivery;

/// <summary>
/// The single writer of a run's outcomes: whatever piled up while the last batch was written goes
/// into the ledger in one transaction, and only then does each worker go on. A delivery is marked
/// sent only after the server's answer has been recorded here.
/// </summary>
internal sealed class OutcomeRecorder(DeliveryStore deliveries, int maxHardBounces, DispatchRun run, TimeProvider time, Action<DispatchSummary>? progress)
{
    private const int MaxBatch = 500;

    public async Task RecordAsync()
    {
        var batch = new List<Outcome>();
        var lastProgress = time.GetTimestamp();
        while (await run.Outcomes.Reader.WaitToReadAsync(CancellationToken.None))
        {
            while (batch.Count < MaxBatch && run.Outcomes.Reader.TryRead(out var item))
                batch.Add(item);
            // Attempted either way: never released for an immediate resend. If the write
            // fails, their leases run out and they are resent later with the same Message-ID.
            foreach (var outcome in batch)
                run.Unfinished.TryRemove(outcome.Delivery.Id, out _);
            try
            {
                await deliveries.RecordAsync(batch.Select(b => b.Result).ToList(), maxHardBounces, CancellationToken.None);
                foreach (var outcome in batch)
                {
                    run.Count(outcome.Result.Status);
                    outcome.Persisted.TrySetResult();
                }
            }
            catch (Exception exception) when (exception is DbException)
            {
                foreach (var outcome in batch)
                    outcome.Persisted.TrySetException(exception);
            }
            batch.Clear();
            if (progress is not null && time.GetElapsedTime(lastProgress) >= TimeSpan.FromSeconds(1))
            {
                progress(run.Summary());
                lastProgress = time.GetTimestamp();
            }
        }
    }
}
