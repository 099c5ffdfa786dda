namespace Tolerex.Storage.Log;

/// <summary>
/// A record queued for a <see cref="RecordLog"/>'s writer, and what the layer above does once its fate is
/// known. The writer calls these in queue order, one group at a time, so a layer can keep state that only
/// the writer touches (versions decided but not yet durable) without locks. Keep them short: no I/O.
/// </summary>
public abstract class LogAppend(LogRecord record)
{
    public LogRecord Record { get; } = record;

    /// <summary>Just before the record would be written: false skips it (then <see cref="Completed"/> gets null).</summary>
    protected virtual bool Admit() => true;

    /// <summary>The record is durable at <paramref name="position"/> (null: skipped by <see cref="Admit"/>).</summary>
    protected abstract void Completed(RecordPosition? position);

    /// <summary>The group holding the record could not be written; nothing of it counts.</summary>
    protected abstract void Failed(Exception error);

    internal bool OnAdmit() => Admit();

    internal void OnCompleted(RecordPosition? position) => Completed(position);

    internal void OnFailed(Exception error) => Failed(error);
}
