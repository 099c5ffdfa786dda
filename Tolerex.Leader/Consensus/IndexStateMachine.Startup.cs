using Tolerex.Leader.Index;
using Tolerex.Storage.Log;

namespace Tolerex.Leader.Consensus;

/// <summary>Opening the data directory, before the consensus log opens on top of the snapshot.</summary>
internal sealed partial class IndexStateMachine : IDisposable
{
    private IDisposable? _directoryLock;

    /// <summary>Records of an index an earlier version left in the data directory, to be committed once this node leads.</summary>
    public IReadOnlyList<LogRecord> PendingImport { get; private set; } = [];

    /// <summary>
    /// Reads an index an earlier version left (see <see cref="IndexImport"/>), takes the data directory for this
    /// process (two nodes must never share one), and loads the newest snapshot.
    /// </summary>
    public void Open()
    {
        _fs.CreateDirectory(_options.DataDir);
        if (IndexImport.IsPresent(_fs, _options.DataDir))
        {
            // Read before taking the directory: the earlier log engine takes it too while it reads.
            PendingImport = IndexImport.Read(_fs, _options.DataDir, logger, damage => LogImportDamage(logger, damage));
            LogImportFound(logger, _options.DataDir, PendingImport.Count);
        }

        _directoryLock = _fs.Lock(_options.DataDir);
        Restore();
    }

    /// <summary>The earlier index is committed: its files go.</summary>
    public void Imported()
    {
        IndexImport.Delete(_fs, _options.DataDir);
        LogImported(logger, _options.DataDir, PendingImport.Count, map.Count);
        PendingImport = [];
    }

    public void Dispose()
    {
        _snapshotting.Wait();
        _directoryLock?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Index of an earlier version found in {Directory}: {Records} records, committed to the consensus log once this node leads")]
    private static partial void LogImportFound(ILogger logger, string directory, int records);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Index of an earlier version in {Directory} imported ({Records} records, {Ids} ids now) and its files removed")]
    private static partial void LogImported(ILogger logger, string directory, int records, int ids);

    [LoggerMessage(Level = LogLevel.Error, Message = "Index of an earlier version: {Damage}; skipped")]
    private static partial void LogImportDamage(ILogger logger, string damage);
}
