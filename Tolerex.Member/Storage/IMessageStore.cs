namespace Tolerex.Member.Storage;

internal readonly record struct StoreStats(long MessagesHeld, long BytesHeld, long MaxVersion);

internal readonly record struct StoredMessage(long Version, byte[] Payload);

/// <summary>buffered = group commit: one write and one sync for every record queued meanwhile (the default);
/// unbuffered = each record written and synced on its own.</summary>
internal enum IoMode { Buffered, Unbuffered }

/// <summary>A member's durable copies.</summary>
internal interface IMessageStore : IAsyncDisposable
{
    /// <summary>
    /// Durably stores <paramref name="payload"/> as <paramref name="version"/> of <paramref name="id"/> unless a
    /// version at least as high is already held. Completes after the sync that covers the record and returns
    /// the version now held (higher than <paramref name="version"/> when the write was superseded).
    /// </summary>
    ValueTask<long> StoreAsync(long id, long version, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);

    /// <summary>Durably deletes <paramref name="id"/> (a tombstone) if held with a lower version; true when something was deleted.</summary>
    ValueTask<bool> DeleteAsync(long id, long version, CancellationToken cancellationToken);

    /// <summary>The copy held for <paramref name="id"/>, or null.</summary>
    ValueTask<StoredMessage?> ReadAsync(long id, CancellationToken cancellationToken);

    StoreStats Stats { get; }
}
