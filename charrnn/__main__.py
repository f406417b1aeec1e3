from charrnn.cli import main

main(prog_name="charrnn")
