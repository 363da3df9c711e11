from kfdeploy.cli import main

main()
