namespace Tolerex.Testing.History;

public enum OperationKind { Set, Get, Delete }

/// <summary>
/// What a client saw of one operation. <see cref="Value"/> is the value a SET wrote (unique per SET) or a GET
/// read (null: NOT_FOUND). <see cref="Completed"/> is null when the outcome is unknown: the client got an
/// error or no answer, so the operation may have taken effect at any time after <see cref="Invoked"/>, or
/// never. For a DEL, <see cref="Deleted"/> says whether it answered OK (something was deleted) or NOT_FOUND.
/// </summary>
public sealed record Operation(int Client, long Id, OperationKind Kind, string? Value, long Invoked, long? Completed, bool Deleted = false)
{
    public bool Known => Completed is not null;

    public override string ToString() =>
        $"client {Client} {Kind} id={Id}{(Kind == OperationKind.Set ? $" '{Value}'" : "")} [{Invoked}..{(Completed?.ToString() ?? "?")}]"
        + (Known ? Kind switch { OperationKind.Get => $" -> {(Value is null ? "NOT_FOUND" : $"'{Value}'")}", OperationKind.Delete => Deleted ? " -> OK" : " -> NOT_FOUND", _ => " -> OK" } : " -> unknown");
}
