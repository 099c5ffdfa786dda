using System.Diagnostics;
using System.Globalization;
using Tolerex.Client.Terminal;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Client.Session;

/// <summary>What a bulk load achieved: ids <see cref="FirstId"/>.. were sent; only acknowledged ones count.</summary>
internal sealed record BulkOutcome(long FirstId, long Count, long Acked, long Errors, double ElapsedSeconds, bool Lost, IReadOnlyList<long>? AckedIds);

internal sealed partial class ClientSession
{
    /// <summary>
    /// N SETs with ids from this client's range, <c>&lt;message&gt;_&lt;id&gt;</c> when <paramref name="suffixId"/>.
    /// They go out <see cref="SessionOptions.Flush"/> per send, and every reply is read before the next send, so
    /// each acknowledgement is counted, not each send. The batch's latency
    /// for a command is from its send to its own reply. <paramref name="nested"/>: part of a larger run (stress),
    /// so no progress bar or summary line of its own.
    /// </summary>
    public async Task<BulkOutcome> BulkSetAsync(long count, byte[] message, bool suffixId, string operation, CancellationToken cancellationToken,
        bool collectAckedIds = false, bool nested = false)
    {
        var firstId = _nextId;
        long acked = 0, errors = 0, bytes = 0, ackedTicks = 0;
        var ackedIds = collectAckedIds ? new List<long>() : null;
        var lost = false;
        var clock = Stopwatch.StartNew();
        var probing = _prober?.RunWhile(ProbeKind.Set, message.Length, cancellationToken);
        try
        {
            await ProgressDisplay.RunAsync(_options.Progress && !nested, $"{operation} ×{count}", count, " SET", async progress =>
            {
                for (long done = 0; done < count && !lost;)
                {
                    var batch = (int)Math.Min(_options.Flush, count - done);
                    var batchFirst = _nextId;
                    _nextId += batch;
                    _command.ResetWrittenCount();
                    for (var i = 0; i < batch; i++)
                        WriteBulkSet(batchFirst + i, message, suffixId);
                    bytes += _command.WrittenCount;

                    var replies = 0;
                    var sent = Stopwatch.GetTimestamp();
                    try
                    {
                        await _leader.Line.SendAsync(_command.WrittenMemory, cancellationToken);
                        for (; replies < batch; replies++)
                        {
                            var ok = _leader.Line.Line(await _leader.Line.ReadLineAsync(cancellationToken)).SequenceEqual("OK"u8);
                            var ticks = Stopwatch.GetTimestamp() - sent;
                            Latencies.Add(ticks);
                            if (ok)
                            {
                                acked++;
                                ackedTicks += ticks;
                                ackedIds?.Add(batchFirst + replies);
                            }
                            else
                            {
                                errors++;
                            }
                        }
                    }
                    catch (IOException e)
                    {
                        // The unanswered rest of the batch may or may not have been stored: not acknowledged, so errors.
                        errors += batch - replies;
                        await _log.WriteLineAsync($"connection to {_leader.Address} lost during {operation}: {e.Message}");
                        lost = !await _leader.ReconnectAsync(cancellationToken);
                    }

                    done += batch;
                    progress.Report(done);
                }

                return 0;
            });
        }
        finally
        {
            if (probing is not null)
                await probing.DisposeAsync();
        }

        var elapsed = clock.Elapsed.TotalSeconds;
        Sent += acked + errors;
        Acked += acked;
        Errors += errors;
        var sentCount = acked + errors;
        var meanUs = acked == 0 ? 0 : LatencySamples.ToUs((double)ackedTicks / acked);
        if (acked > 0)
            _csv?.Row(operation, acked, sentCount == 0 ? 0 : bytes * acked / sentCount, meanUs, _options.Mode, ok: true, message.Length);
        if (errors > 0)
            _csv?.Row(operation, errors, sentCount == 0 ? 0 : bytes * errors / sentCount, 0, _options.Mode, ok: false, message.Length);
        if (!nested)
        {
            await _log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{operation} DONE: {count} SET | acknowledged={acked} errors={errors} | {elapsed * 1000:0} ms | {(elapsed > 0 ? acked / elapsed : 0):0} acks/s | mean RTT {meanUs:0} us | ids {firstId}..{firstId + count - 1}"));
        }

        return new BulkOutcome(firstId, count, acked, errors, elapsed, lost, ackedIds);
    }

    private void WriteBulkSet(long id, ReadOnlySpan<byte> message, bool suffixId)
    {
        HaToKuSeWriter.Write(_command, "SET "u8);
        HaToKuSeWriter.WriteNumber(_command, id);
        HaToKuSeWriter.Write(_command, " "u8);
        HaToKuSeWriter.Write(_command, message);
        if (suffixId)
        {
            HaToKuSeWriter.Write(_command, "_"u8);
            HaToKuSeWriter.WriteNumber(_command, id);
        }

        HaToKuSeWriter.Write(_command, HaToKuSeText.NewLine);
    }
}
