%% The BEAM side of the actor benchmarks (bench/actors/run.sh): the same
%% workloads as actors.c, written the way an Erlang programmer would, and
%% printing the same key=value line (times in ns by the monotonic clock).
%%
%%   erl -noshell +P 4000000 -pa DIR -run actors main ring N M
%%   ... main spawn N | pingpong R | fanin N | idle N MS
-module(actors).
-export([main/1]).

-define(FANOUT, 100).

main([Mode | Args]) ->
    Ints = [list_to_integer(A) || A <- Args],
    Ok = try run(Mode, Ints)
         catch C:E -> io:format("error ~p:~p~n", [C, E]), false
         end,
    erlang:halt(case Ok of true -> 0; _ -> 1 end).

now_ns() -> erlang:monotonic_time(nanosecond).

kv(Name, Pairs) ->
    io:format("~s~s~n", [Name, [io_lib:format(" ~s=~w", [K, V]) || {K, V} <- Pairs]]).

%% --- ring and idle ---------------------------------------------------------

ring_node(Next) ->
    receive
        {token, V} -> Next ! {token, V + 1}, ring_node(Next);
        stop -> Next ! stop
    end.

build_ring(N) ->
    build_ring(N - 1, self()).
build_ring(0, Next) -> Next;
build_ring(K, Next) -> build_ring(K - 1, spawn(fun() -> ring_node(Next) end)).

pass(_Head, 0, Token) -> Token;
pass(Head, K, Token) ->
    Head ! {token, Token + 1},
    receive {token, V} -> pass(Head, K - 1, V) end.

run("ring", [N, M]) ->
    T0 = now_ns(),
    Head = build_ring(N),
    T1 = now_ns(),
    Token = pass(Head, M, 0),
    T2 = now_ns(),
    Head ! stop,
    receive stop -> ok end,
    kv("ring", [{n, N}, {m, M}, {hops, N * M}, {token, Token},
                {build_ns, T1 - T0}, {ns, T2 - T1}]),
    Token =:= N * M;

%% The memory an idle process costs: erlang:memory(processes) and the
%% process_info of one ring process, besides the RSS run.sh samples.
run("idle", [N, Ms]) ->
    garbage_collect(),
    Before = erlang:memory(processes),
    Head = build_ring(N),
    Token = pass(Head, 1, 0),
    After = erlang:memory(processes),
    {memory, One} = process_info(Head, memory),
    kv("idle", [{n, N}, {token, Token}, {processes_bytes, After - Before},
                {process_info_bytes, One}]),
    timer:sleep(Ms),
    Head ! stop,
    receive stop -> ok end,
    kv("idle-done", [{n, N}]),
    Token =:= N;

%% --- spawn ------------------------------------------------------------------

%% The process that spawns (and, in fanin, the collector) gets a message
%% from every child: it keeps its queue off its heap, as an Erlang
%% programmer would for a process that receives that many. Otherwise each
%% garbage collection copies every message still queued, which is
%% quadratic in their number (spawn at 100K: 38 us per spawn against 7.6).
run("spawn", [N]) ->
    process_flag(message_queue_data, off_heap),
    Self = self(),
    Pass = fun() ->
                   T0 = now_ns(),
                   spawn_loop(N, Self),
                   T1 = now_ns(),
                   wait_done(N),
                   {T1 - T0, now_ns() - T0}
           end,
    {ColdLoop, ColdAll} = Pass(),
    {Loop, All} = Pass(),
    kv("spawn", [{n, N}, {cold_loop_ns, ColdLoop}, {cold_all_ns, ColdAll},
                 {loop_ns, Loop}, {all_ns, All}]),
    true;

%% --- ping-pong --------------------------------------------------------------

run("pingpong", [R]) ->
    P = spawn(fun ponger/0),
    ping(P, 1000, 0),
    T0 = now_ns(),
    V = ping(P, R, 0),
    T1 = now_ns(),
    P ! stop,
    kv("pingpong", [{rounds, R}, {value, V}, {ns, T1 - T0}]),
    V =:= R;

%% --- fan-in -----------------------------------------------------------------

run("fanin", [N]) ->
    process_flag(message_queue_data, off_heap),
    Depth = depth(N, 1, ?FANOUT),
    T0 = now_ns(),
    Kids = spread(Depth, N, self()),
    T1 = now_ns(),
    [K ! go || K <- Kids],
    Got = collect(N, 0),
    T2 = now_ns(),
    kv("fanin", [{n, N}, {depth, Depth}, {got, Got}, {build_ns, T1 - T0},
                 {ns, T2 - T1}]),
    Got =:= N.

spawn_loop(0, _) -> ok;
spawn_loop(K, Parent) ->
    C = spawn(fun() -> receive _ -> Parent ! done end end),
    C ! K,
    spawn_loop(K - 1, Parent).

wait_done(0) -> ok;
wait_done(K) -> receive done -> wait_done(K - 1) end.

ponger() ->
    receive
        {ping, From, V} -> From ! {pong, V + 1}, ponger();
        stop -> ok
    end.

ping(_, 0, V) -> V;
ping(P, K, V) ->
    P ! {ping, self(), V},
    receive {pong, W} -> ping(P, K - 1, W) end.

depth(N, D, Cap) when Cap >= N -> D;
depth(N, D, Cap) -> depth(N, D + 1, Cap * ?FANOUT).

%% Spawns the children of a tree node at Depth (> 0) with Leaves below it;
%% returns them once every subtree is spawned and waiting.
spread(Depth, Leaves, To) ->
    Per = pow(?FANOUT, Depth - 1),
    Self = self(),
    Kids = spawn_kids(Leaves, Per, Depth - 1, To, Self, ?FANOUT, []),
    [receive {ready, K} -> ok end || K <- Kids],
    Kids.

spawn_kids(Left, _, _, _, _, Room, Acc) when Left =< 0; Room =:= 0 -> Acc;
spawn_kids(Left, Per, Depth, To, Parent, Room, Acc) ->
    Mine = min(Left, Per),
    K = spawn(fun() -> tree_node(Depth, Mine, To, Parent) end),
    spawn_kids(Left - Per, Per, Depth, To, Parent, Room - 1, [K | Acc]).

tree_node(0, _, To, Parent) ->
    Parent ! {ready, self()},
    receive go -> To ! {data, 1} end;
tree_node(Depth, Leaves, To, Parent) ->
    Kids = spread(Depth, Leaves, To),
    Parent ! {ready, self()},
    receive go -> [K ! go || K <- Kids] end.

collect(0, Got) -> Got;
collect(K, Got) -> receive {data, V} -> collect(K - 1, Got + V) end.

pow(_, 0) -> 1;
pow(B, E) -> B * pow(B, E - 1).
