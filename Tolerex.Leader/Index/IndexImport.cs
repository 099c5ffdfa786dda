using Tolerex.Storage.Files;
using Tolerex.Storage.Log;

namespace Tolerex.Leader.Index;

/// <summary>
/// Reads an index that a leader of an earlier version left in its data directory (a record log of index
/// segments and a checkpoint, or the format before that, see <see cref="LegacyIndexFormat"/>) so that it can be
/// committed to the consensus log once; then its files are removed. Records are idempotent, so an import cut short
/// by a crash simply runs again at the next start.
/// </summary>
internal static class IndexImport
{
    private const string SegmentSuffix = ".index";
    private const string CheckpointName = "index.checkpoint";
    private static readonly string[] LogFiles = [CheckpointName, LogSeal.FileName, "obsolete-segments"];

    public static bool IsPresent(IStorageFileSystem fs, string directory) =>
        fs.Exists(Path.Combine(directory, CheckpointName)) || fs.List(directory, SegmentSuffix).Count > 0 || LegacyIndexFormat.IsPresent(fs, directory);

    /// <summary>Every record of the earlier index, in the order it must be applied.</summary>
    public static List<LogRecord> Read(IStorageFileSystem fs, string directory, ILogger logger, Action<string> damaged)
    {
        // A log with a checkpoint is newer than any earlier-format files beside it (its conversion finished).
        if (LegacyIndexFormat.IsPresent(fs, directory) && !fs.Exists(Path.Combine(directory, CheckpointName)))
            return LegacyIndexFormat.Read(fs, directory, damaged);

        var records = new List<LogRecord>();
        var log = RecordLog.Open(directory, new RecordLogOptions
        {
            Format = IndexRecords.Format,
            SegmentSuffix = SegmentSuffix,
            CheckpointName = CheckpointName,
            PreallocateBytes = 0,
            FileSystem = fs,
        }, logger, (in LogRecord record, RecordPosition _) => records.Add(record with { Payload = record.Payload.ToArray() }));
        // Startup, before anything else runs: waiting here blocks nobody.
        log.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return records;
    }

    /// <summary>Removes the earlier index once its records are committed.</summary>
    public static void Delete(IStorageFileSystem fs, string directory)
    {
        foreach (var name in fs.List(directory, SegmentSuffix))
            fs.Delete(Path.Combine(directory, name));
        foreach (var name in LogFiles)
        {
            if (fs.Exists(Path.Combine(directory, name)))
                fs.Delete(Path.Combine(directory, name));
        }

        LegacyIndexFormat.Delete(fs, directory);
        fs.SyncDirectory(directory);
    }
}
