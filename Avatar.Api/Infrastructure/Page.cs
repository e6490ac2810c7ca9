using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Avatar.Api.Infrastructure;

/// <summary>One page of a list. <paramref name="Next"/> is the <c>after</c> value of the next page, null on the last.</summary>
/// <param name="Items">The items, oldest first.</param>
/// <param name="Next">Pass as <c>?after=</c> to get the next page.</param>
public sealed record Page<T>(IReadOnlyList<T> Items, Guid? Next);

/// <summary>Keyset pagination over time-ordered ids: no offsets, so pages stay correct while rows are added.</summary>
public static class Paging
{
    /// <summary>Default and maximum page sizes.</summary>
    public const int DefaultLimit = 50, MaxLimit = 200;

    /// <summary>
    /// One page of <paramref name="select"/> (a SELECT with a WHERE clause, parameters in <paramref name="parameters"/>):
    /// rows with an id after <paramref name="after"/>, oldest first; 400 naming <c>limit</c> when it is out of range.
    /// </summary>
    public static async Task<Results<Ok<Page<T>>, ValidationProblem>> QueryAsync<T>(NpgsqlDataSource db, string select, object parameters,
        int? limit, Guid? after, Func<T, Guid> id)
    {
        if (limit is < 1 or > MaxLimit)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"limit must be between 1 and {MaxLimit}."] });
        }
        var take = limit ?? DefaultLimit;
        var arguments = new DynamicParameters(parameters);
        arguments.Add("After", after ?? Guid.Empty);
        arguments.Add("Take", take + 1); // one more than asked: it only says whether there is a next page
        await using var connection = await db.OpenConnectionAsync();
        var rows = (await connection.QueryAsync<T>($"{select} AND id > @After ORDER BY id LIMIT @Take", arguments)).AsList();
        return TypedResults.Ok(rows.Count > take ? new Page<T>([.. rows.Take(take)], id(rows[take - 1])) : new Page<T>(rows, null));
    }
}
