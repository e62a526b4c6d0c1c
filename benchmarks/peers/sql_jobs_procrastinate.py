import procrastinate
import sql_harness

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=sql_harness.dsn()))


@app.task(name="noop", queue="bench")
async def noop(i):
    await sql_harness.ahit()


@app.task(name="stamp", queue="bench")
async def stamp():
    await sql_harness.astamp()
